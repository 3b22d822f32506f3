using System.Runtime.CompilerServices;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// One client (RFC 862): every byte read is written back, in order. A small state machine: it echoes on the
/// read/write path (<c>EchoConnection.ReadWrite.cs</c>) or, on Linux for large reads, on the splice path
/// (<c>EchoConnection.Splice.cs</c>), until it is closed.
/// </summary>
/// <remarks>
/// <para>What a client is owed (a tail the kernel did not take back) is an <see cref="OwedOutput"/>, borrowed only
/// while owed, which flushes itself; while anything is owed the connection does not read, so TCP flow control
/// pushes back on a client that does not read (docs/design.md, "Backpressure"). At most
/// <see cref="EchoOptions.MaxPendingBytes"/> is kept. After the client's FIN, which is read only with nothing owed,
/// the socket is closed.</para>
/// <para>An idle connection is one 56-byte object: the socket is a <see cref="StreamSocket"/> value, the token is
/// passed in by the loop, the drain finds connections through the loop's registrations, owed output is borrowed
/// only while owed, and the idle timer and log address live in <see cref="ConnectionExtras"/> only where enabled.
/// docs/design.md, "Memory per idle connection".</para>
/// </remarks>
internal sealed partial class EchoConnection : IReadinessHandler
{
    private readonly EchoContext _context;
    private OwedOutput? _owed;
    private ConnectionExtras? _extras;
    private StreamSocket _socket;
    private uint _lastActivityMs; // the low 32 bits of EventLoop.NowMs: wraps after 49 days, which QuietMs allows for
    private ConnectionState _state;

    /// <summary>Takes ownership of the connected <paramref name="socket"/>.</summary>
    public EchoConnection(StreamSocket socket, EchoContext context, EventLoop eventLoop)
    {
        _socket = socket;
        _context = context;
        _lastActivityMs = (uint)eventLoop.NowMs;
    }

    /// <summary>Where a connection is in its life; the one state field.</summary>
    private enum ConnectionState : byte
    {
        /// <summary>read(2) and send(2), registered edge-triggered for both directions.</summary>
        ReadWrite,

        /// <summary>splice(2) through the loop pipe, registered level-triggered.</summary>
        Splice,

        /// <summary>Splicing, and the last report brought little: one more such report and it goes back to read/write.</summary>
        SpliceWaning,

        /// <summary>Closed: counted out, deregistered, socket closed.</summary>
        Closed,
    }

    /// <summary>How one read or splice went, for the path that made it.</summary>
    private enum Step
    {
        /// <summary>Read again: the socket may hold more.</summary>
        Again,

        /// <summary>Stop reading for this wakeup (drained, or bytes owed).</summary>
        Done,

        /// <summary>A large read, all echoed: stop, to take the rest through the pipe (if one can be had).</summary>
        Splice,

        /// <summary>splice(2) moved nothing and would block.</summary>
        Blocked,

        /// <summary>The connection was closed (end of stream, reset or error).</summary>
        Closed,
    }

    /// <summary>The client's address as text, kept only when Debug logging is on (for log scopes).</summary>
    public string? Peer => _extras?.Peer;

    /// <summary>True while the connection echoes with splice(2); for tests.</summary>
    internal bool Splicing => _state is ConnectionState.Splice or ConnectionState.SpliceWaning;

    /// <summary>True when every byte read has been echoed (the drain closes only such connections).</summary>
    public bool OwesNothing => _owed is null;

    /// <summary>Milliseconds since the last read or write, at loop time <paramref name="nowMs"/> (<see cref="EventLoop.NowMs"/>).</summary>
    public long QuietMs(long nowMs) => (uint)nowMs - _lastActivityMs;

    /// <summary>Bytes read and not yet sent: the copied tail, or what the connection's pipe holds.</summary>
    private int OwedBytes => _owed?.Count ?? 0;

    /// <summary>
    /// Bytes one read or splice-in may take: capped at --max-pending-bytes, so what it leaves unsent never exceeds the
    /// bound, and smaller while the loop's share of --max-pending-total is reached (<see cref="PendingBudget.ReadBytes"/>).
    /// </summary>
    private Span<byte> ReadSpan
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _context.ReadBuffer.AsSpan(0, _context.Budget.ReadBytes);
    }

    /// <summary>
    /// Once registered as <paramref name="token"/>: arms the idle timer, keeps <paramref name="peer"/> for logs and
    /// <paramref name="group"/> (counted in by the listener) to count out at the close, where enabled.
    /// </summary>
    public void Start(EventLoop eventLoop, Token token, string? peer, AddressGroup? group = null)
    {
        var timeout = _context.Options.IdleTimeout;
        if (timeout is null && peer is null && group is null)
        {
            return;
        }

        _extras = new ConnectionExtras(token, peer) { Group = group };
        if (timeout is { } idle)
        {
            // Reads only stamp the activity time; the timer, when it fires, closes or re-arms for the time left.
            _extras.IdleTimer = eventLoop.AddTimer(idle, CheckIdle);
        }
    }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        try
        {
            Serve(eventLoop, token, readiness);
        }
        catch (Exception) when (_state != ConnectionState.Closed)
        {
            // The loop disposes a handler that throws and reports the exception; closing here first counts
            // the connection out (active count, --max-connections slot, close reason), which Dispose does not.
            Close(eventLoop, token, CloseReason.Error);
            throw;
        }
    }

    /// <summary>read() or splice() returned 0: the client finished sending (nothing is owed then), or reset the connection.</summary>
    private Step EndOfStream(EventLoop eventLoop, Token token, Readiness readiness)
    {
        // An error edge, yet the read ends cleanly: libkqueue cleared SO_ERROR to report the peer's
        // reset (docs/design.md, "kqueue over libkqueue"); a kernel leaves it for read() to return.
        Close(eventLoop, token, (readiness & Readiness.Error) != 0 ? CloseReason.ClientReset : CloseReason.ClientFinished);
        return Step.Closed;
    }

    /// <summary>Sends what is owed; gives the owed output back once all of it has gone.</summary>
    /// <returns>False if the connection was closed.</returns>
    private bool Flush(EventLoop eventLoop, Token token)
    {
        var owed = _owed!;
        var sent = owed.FlushTo(_socket, out var errno);
        if (sent > 0)
        {
            _context.Counters.BytesSent += sent;
            _lastActivityMs = (uint)eventLoop.NowMs;
        }

        if (owed.Count > 0)
        {
            return errno.IsWouldBlock || CloseOnError(eventLoop, token, errno);
        }

        ReleaseOwed();
        return true;
    }

    /// <summary>Keeps <paramref name="owed"/> (holding a tail) and charges its footprint to the loop's budget.</summary>
    private void Owe(OwedOutput owed)
    {
        _owed = owed;
        _context.Budget.Charge(owed.Footprint);
    }

    /// <summary>Gives the owed output (and its pipe, if any) back to the loop, and its footprint back to the budget.</summary>
    private void ReleaseOwed()
    {
        if (_owed is { } owed)
        {
            _owed = null;
            _context.Budget.Credit(owed.Footprint);
            if (owed.Release() is { } pipe)
            {
                _context.Pipes!.Return(pipe);
            }

            _context.ReturnOwed(owed);
        }
    }

    private TimeSpan? CheckIdle(EventLoop eventLoop)
    {
        if (_state == ConnectionState.Closed)
        {
            return null;
        }

        var timeoutMs = (long)_context.Options.IdleTimeout!.Value.TotalMilliseconds;
        var idleMs = QuietMs(eventLoop.NowMs);
        if (idleMs >= timeoutMs)
        {
            Close(eventLoop, _extras!.Token, CloseReason.IdleTimeout);
            return null;
        }

        return TimeSpan.FromMilliseconds(timeoutMs - idleMs);
    }

    private bool CloseOnError(EventLoop eventLoop, Token token, Errno errno)
    {
        if (_context.DebugLogging && !errno.IsPeerGone)
        {
            var error = errno.ToString();
            using var scope = EchoLog.ConnectionScope(_context.Logger, token.Value, Peer);
            EchoLog.IoFailed(_context.Logger, error);
        }

        var reason = errno.IsPeerGone ? CloseReason.ClientReset : errno.IsTimedOut ? CloseReason.PeerTimedOut : CloseReason.Error;
        Close(eventLoop, token, reason);
        return false;
    }

    public void Close(EventLoop eventLoop, Token token, CloseReason reason)
    {
        if (_state == ConnectionState.Closed)
        {
            return;
        }

        // Counted out first, exactly once, before anything here that could throw (epoll_ctl, a logger).
        _state = ConnectionState.Closed;
        _context.Counters.Active--;
        _context.Gate.Exit();
        if (_extras?.Group is { } group)
        {
            _context.Addresses!.Exit(group);
        }

        _context.Counters.CountClose(reason);
        eventLoop.Deregister(token);
        if (_extras is { } extras)
        {
            eventLoop.CancelTimer(extras.IdleTimer);
        }

        if (_context.DebugLogging)
        {
            using var scope = EchoLog.ConnectionScope(_context.Logger, token.Value, Peer);
            EchoLog.Closed(_context.Logger, reason, OwedBytes);
        }

        Dispose();
    }

    public void Dispose()
    {
        _state = ConnectionState.Closed;
        var socket = _socket;
        _socket = default; // a second Dispose (the loop's, after a handler threw) closes nothing
        socket.Dispose();
        ReleaseOwed();
    }
}
