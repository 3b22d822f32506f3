using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoBench;

/// <summary>
/// One client connection of <c>echobench</c>: connects without blocking, sends its own
/// deterministic byte stream (<see cref="BenchPattern"/>) and checks every echoed byte at its offset.
/// </summary>
/// <remarks>
/// <para>Registered once for readable and writable, edge-triggered. Sending is bounded by a target
/// offset: the bytes in flight allowed by the mode (one message for pingpong and idle,
/// <see cref="BenchOptions.Depth"/> for pipeline, unbounded for bulk) and a cap (the rounds granted in
/// idle mode; the end of the current message once draining). A write that gets EAGAIN leaves the rest
/// unsent until the next writable edge; reads go on until EAGAIN (or a short read, which empties the
/// receive queue so new data raises a new edge).</para>
/// <para>Steady state allocates nothing: the pattern, the read buffer and the send-time ring are preallocated.</para>
/// </remarks>
internal sealed partial class BenchConnection : IReadinessHandler
{
    private readonly BenchRun _run;
    private readonly BenchStats _stats;
    private readonly BenchPattern _pattern;
    private readonly int _size;
    private readonly long _inFlight;
    private readonly bool _bulk;
    private readonly long _patternOffset;

    // Send time (Stopwatch ticks) of message k at [k % length]; null in bulk mode, which measures no latency.
    private readonly long[]? _sendTimes;

    private StreamSocket _socket; // default until Start connects
    private long _sent;
    private long _received;
    private long _cap = long.MaxValue;
    private bool _registered;
    private bool _writeBlocked;
    private bool _errorCounted;
    private Readiness _reschedule;

    public BenchConnection(BenchRun run, int index)
    {
        _run = run;
        _stats = run.Stats;
        _pattern = run.Pattern;
        Index = index;
        var options = run.Options;
        _size = options.Size;
        _bulk = options.Mode == BenchMode.Bulk;
        _inFlight = options.Mode == BenchMode.Pipeline ? options.Depth : options.Size;
        _patternOffset = BenchPattern.OffsetFor(index);
        if (options.Mode == BenchMode.Idle)
        {
            _cap = options.Size;
        }

        if (!_bulk)
        {
            _sendTimes = new long[(_inFlight / _size) + 3];
        }
    }

    public int Index { get; }

    public Token Token { get; private set; }

    public BenchConnectionState State { get; private set; }

    /// <summary>True once the connection has ended, well or badly.</summary>
    public bool Ended => State is BenchConnectionState.Done or BenchConnectionState.Failed;

    /// <summary>True once the first message's echo is complete.</summary>
    public bool FirstRoundTripDone => _received >= _size;

    /// <summary>Echoed bytes still owed by the server.</summary>
    public long Owed => _sent - _received;

    /// <summary>Starts the non-blocking connect and registers with the loop.</summary>
    public void Start(EventLoop loop)
    {
        State = BenchConnectionState.Connecting;
        try
        {
            _socket = StreamSocket.Connect(_run.Options.Target);
        }
        catch (SyscallException e)
        {
            Fail(loop, BenchFailure.Connect, $"connect failed: {e.Errno}");
            return;
        }

        try
        {
            Token = loop.Register(_socket.Source, Interest.ReadWrite, this);
            _registered = true;
        }
        catch (SyscallException e)
        {
            Fail(loop, BenchFailure.Connect, $"cannot register with the event loop: {e.Errno}");
        }
    }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (State == BenchConnectionState.Connecting && !CompleteConnect(eventLoop, readiness))
        {
            return;
        }

        if (State != BenchConnectionState.Open)
        {
            return;
        }

        _reschedule = Readiness.None;
        if ((readiness & Readiness.Writable) != 0)
        {
            _writeBlocked = false;
        }

        if ((readiness & (Readiness.Readable | Readiness.ReadClosed | Readiness.Error)) != 0 && !ReadAll(eventLoop, readiness))
        {
            return;
        }

        if (!WriteAll(eventLoop))
        {
            return;
        }

        if (_run.Draining && IsFinished)
        {
            Finish(eventLoop);
            return;
        }

        if (_reschedule != Readiness.None)
        {
            eventLoop.Schedule(Token, _reschedule);
        }
    }

    /// <summary>Stops sending after the current message; the connection ends once its echoes are back.</summary>
    public void BeginDrain(EventLoop loop)
    {
        _cap = Math.Min(_cap, RoundUpToMessage(_sent));
        if (State == BenchConnectionState.Open && IsFinished)
        {
            Finish(loop);
        }
    }

    /// <summary>Idle mode: grants the second round trip and drains after it.</summary>
    public void FinalRound(EventLoop loop)
    {
        if (State != BenchConnectionState.Open)
        {
            _cap = 0;
            return;
        }

        _cap = RoundUpToMessage(_sent) + _size;
        if (WriteAll(loop) && _reschedule != Readiness.None)
        {
            loop.Schedule(Token, _reschedule);
        }
    }

    /// <summary>Ends a connection the run gives up on (connect or drain timeout).</summary>
    public void Abandon(EventLoop loop)
    {
        if (State == BenchConnectionState.Connecting)
        {
            Fail(loop, BenchFailure.Connect, "connect timed out");
        }
        else if (State == BenchConnectionState.Open)
        {
            Fail(loop, BenchFailure.Short, $"{Owed} echoed bytes still missing when the drain timed out");
        }
    }

    /// <summary>The loop caught an exception from <see cref="OnReady"/> and has already deregistered and disposed this handler.</summary>
    public void Crashed(Exception exception)
    {
        _registered = false;
        if (!Ended)
        {
            var wasOpen = State == BenchConnectionState.Open;
            End(BenchConnectionState.Failed);
            CountError();
            _run.Report(Index, $"handler failed: {exception.Message}");
            _run.ConnectionEnded(this, wasOpen);
        }
    }

    private bool IsFinished => _received >= _sent && _sent >= Target();

    private long RoundUpToMessage(long offset) => (offset + _size - 1) / _size * _size;

    /// <returns>True if the connect succeeded.</returns>
    private bool CompleteConnect(EventLoop loop, Readiness readiness)
    {
        var error = _socket.TakeError();
        if (error.Value != 0)
        {
            Fail(loop, BenchFailure.Connect, $"connect failed: {error}");
            return false;
        }

        if ((readiness & Readiness.Writable) == 0)
        {
            return false;
        }

        State = BenchConnectionState.Open;
        _ = _socket.SetNoDelay(true);
        _run.Connected();
        return true;
    }

    private void Finish(EventLoop loop)
    {
        Close(loop);
        End(BenchConnectionState.Done);
        _run.ConnectionEnded(this, wasOpen: true);
    }

    private void Fail(EventLoop loop, BenchFailure failure, string message)
    {
        if (Ended)
        {
            return;
        }

        var wasOpen = State == BenchConnectionState.Open;
        Close(loop);
        End(BenchConnectionState.Failed);
        _stats.CountFailure(failure);
        CountError();
        _run.Report(Index, message);
        _run.ConnectionEnded(this, wasOpen);
    }

    private void CountError()
    {
        if (!_errorCounted)
        {
            _errorCounted = true;
            _stats.Errors++;
        }
    }

    private void End(BenchConnectionState state) => State = state;

    private void Close(EventLoop loop)
    {
        if (_registered)
        {
            _registered = false;
            _ = loop.Deregister(Token);
        }

        Dispose();
    }

    public void Dispose()
    {
        var socket = _socket;
        _socket = default;
        socket.Dispose();
    }
}
