using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;

namespace EchoBench;

/// <summary>
/// One <c>echobench</c> run on a single-threaded <see cref="EventLoop"/>: starts the connections,
/// moves through the phases on timers (warmup → measuring → draining; idle: connect and one round trip
/// each → hold → one more round trip), prints progress to stderr and one RESULT line to stdout.
/// </summary>
internal sealed partial class BenchRun
{
    private const int MaxReports = 10;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly TextWriter _out;
    private readonly TextWriter _error;
    private readonly string _name;
    private readonly BenchConnection[] _connections;
    private readonly long _startTicks = Stopwatch.GetTimestamp();
    private Phase _phase = Phase.Warmup;
    private int _live;
    private int _open;
    private int _awaitingFirstRoundTrip;
    private EventLoop? _loop;
    private long _measureStart;
    private long _measureEnd;
    private int _reports;
    private volatile bool _interrupted;
    private long _progressMessages;
    private long _progressBytes;
    private long _progressTicks;

    private BenchRun(BenchOptions options, TextWriter output, TextWriter error, string name)
    {
        Options = options;
        _out = output;
        _error = error;
        _name = name;
        _connections = new BenchConnection[options.Connections];
        for (var i = 0; i < _connections.Length; i++)
        {
            _connections[i] = new BenchConnection(this, i);
        }
    }

    private enum Phase
    {
        Warmup,
        Measuring,
        Draining,
        Finished,
    }

    public BenchOptions Options { get; }

    public BenchStats Stats { get; } = new();

    public BenchPattern Pattern { get; } = new();

    /// <summary>The loop's one read buffer, shared by every connection (they run one at a time).</summary>
    public byte[] ReadBuffer { get; } = new byte[BenchPattern.MaxChunk];

    /// <summary>True while completed messages count toward the result (idle counts every round trip).</summary>
    public bool Counting => _phase == Phase.Measuring || (Options.Mode == BenchMode.Idle && _phase != Phase.Finished);

    public bool Draining => _phase == Phase.Draining;

    /// <summary>Runs the bench and prints its RESULT line.</summary>
    /// <returns>0 if no connection failed, else 1.</returns>
    public static int Execute(BenchOptions options, TextWriter output, TextWriter error, string name)
    {
        ArgumentNullException.ThrowIfNull(options);
        var run = new BenchRun(options, output, error, name);
        EventLoop loop;
        try
        {
            loop = EventLoop.Create(PollerKind.Auto, Math.Clamp(options.Connections, 16, 1024));
        }
        catch (Exception e) when (e is SyscallException or PlatformNotSupportedException)
        {
            error.WriteLine($"{name}: cannot create the event loop: {e.Message}");
            return ExitCodes.Failure;
        }

        using (loop)
        {
            run.Run(loop);
        }

        output.WriteLine(run.FormatResult());
        return run.Stats.Errors == 0 ? ExitCodes.Success : ExitCodes.Failure;
    }

    public static long TicksToNanoseconds(long ticks) => (long)(ticks * NanosecondsPerTick);

    public void Connected() => _open++;

    /// <summary>Idle mode: the hold starts once every connection has done its first round trip or failed.</summary>
    public void FirstRoundTripDone()
    {
        _awaitingFirstRoundTrip--;
        MaybeStartHold(force: false);
    }

    /// <summary>A connection ended, well or badly.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="wasOpen">True if it had connected.</param>
    public void ConnectionEnded(BenchConnection connection, bool wasOpen)
    {
        _live--;
        if (wasOpen)
        {
            _open--;
        }

        if (!connection.FirstRoundTripDone)
        {
            _awaitingFirstRoundTrip--;
        }

        if (_live == 0)
        {
            if (_phase == Phase.Measuring)
            {
                _measureEnd = Stopwatch.GetTimestamp();
            }

            _phase = Phase.Finished;
        }
        else
        {
            MaybeStartHold(force: false);
        }
    }

    /// <summary>Prints a connection's trouble to stderr (the first few only).</summary>
    public void Report(int connection, string message)
    {
        _reports++;
        if (_reports <= MaxReports)
        {
            _error.WriteLine($"{_name}: connection {connection}: {message}");
        }
        else if (_reports == MaxReports + 1)
        {
            _error.WriteLine($"{_name}: more connection errors; only the counts in the RESULT line from here on");
        }
    }

    private void Run(EventLoop loop)
    {
        loop.HandlerFailed += OnHandlerFailed;
        _loop = loop;
        _live = _connections.Length;
        _awaitingFirstRoundTrip = _connections.Length;
        foreach (var connection in _connections)
        {
            connection.Start(loop);
        }

        if (_phase == Phase.Finished)
        {
            return;
        }

        _progressTicks = _startTicks;
        _ = loop.AddTimer(Options.ConnectTimeout, OnConnectTimeout);
        if (Options.Mode != BenchMode.Idle)
        {
            if (Options.Warmup > TimeSpan.Zero)
            {
                _ = loop.AddTimer(Options.Warmup, BeginMeasuring);
            }
            else
            {
                _ = BeginMeasuring(loop);
            }
        }

        if (Options.Progress > TimeSpan.Zero)
        {
            _ = loop.AddTimer(Options.Progress, OnProgress);
        }

        var signals = 0;
        void OnSignal(PosixSignalContext signal)
        {
            // First signal: stop measuring, drain and print the result. A second one: the default action ends the process.
            signal.Cancel = Interlocked.Increment(ref signals) == 1;
            _interrupted = true;
            loop.Stop();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var interruptHandled = false;
        while (_phase != Phase.Finished)
        {
            _ = loop.RunOnce(-1);
            if (_interrupted && !interruptHandled)
            {
                interruptHandled = true;
                if (_phase == Phase.Draining)
                {
                    _phase = Phase.Finished;
                }
                else
                {
                    if (_phase == Phase.Warmup)
                    {
                        _ = BeginMeasuring(loop);
                    }

                    BeginDrain(loop);
                }
            }
        }
    }

    private TimeSpan? BeginMeasuring(EventLoop loop)
    {
        if (_phase != Phase.Warmup)
        {
            return null;
        }

        _phase = Phase.Measuring;
        Stats.ResetMeasurements();
        _measureStart = Stopwatch.GetTimestamp();
        _ = loop.AddTimer(Options.Duration, BeginDrain);

        return null;
    }

    private void MaybeStartHold(bool force)
    {
        if (_phase != Phase.Warmup || Options.Mode != BenchMode.Idle || _loop is null || (_awaitingFirstRoundTrip > 0 && !force))
        {
            return;
        }

        _phase = Phase.Measuring;
        _measureStart = Stopwatch.GetTimestamp();
        _ = _loop.AddTimer(Options.Duration, BeginDrain);
    }

    private TimeSpan? BeginDrain(EventLoop loop)
    {
        if (_phase is not (Phase.Warmup or Phase.Measuring))
        {
            return null;
        }

        _measureEnd = Stopwatch.GetTimestamp();
        _phase = Phase.Draining;
        foreach (var connection in _connections)
        {
            if (Options.Mode == BenchMode.Idle)
            {
                connection.FinalRound(loop);
            }
            else
            {
                connection.BeginDrain(loop);
            }
        }

        if (_phase == Phase.Draining)
        {
            _ = loop.AddTimer(Options.DrainTimeout, OnDrainTimeout);
        }

        return null;
    }

    private TimeSpan? OnConnectTimeout(EventLoop loop)
    {
        foreach (var connection in _connections)
        {
            if (connection.State == BenchConnectionState.Connecting)
            {
                connection.Abandon(loop);
            }
        }

        MaybeStartHold(force: true);

        return null;
    }

    private TimeSpan? OnDrainTimeout(EventLoop loop)
    {
        foreach (var connection in _connections)
        {
            connection.Abandon(loop);
        }

        _phase = Phase.Finished;

        return null;
    }

    private void OnHandlerFailed(Token token, Exception exception)
    {
        foreach (var connection in _connections)
        {
            if (!connection.Ended && connection.State != BenchConnectionState.New && connection.Token == token)
            {
                connection.Crashed(exception);
                return;
            }
        }
    }
}
