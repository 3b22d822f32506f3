using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// The reactor: a single-threaded loop that waits on an <see cref="IPoller"/>, maps each event's
/// <see cref="Token"/> to the <see cref="IReadinessHandler"/> that owns it, and runs due timers.
/// </summary>
/// <remarks>
/// <para>Every method except <see cref="Stop"/> must be called on the loop thread (the one inside
/// <see cref="Run"/>), or before the loop starts.</para>
/// <para>Fairness: under edge-triggered readiness a handler that stops before EAGAIN gets no new
/// event for data already queued (epoll(7), "Possible pitfalls"). Such a handler calls
/// <see cref="Schedule"/>; scheduled tokens run after the current batch, and while any are pending
/// the loop polls with a zero timeout so fresh events are interleaved with the resumed work. A
/// level-triggered registration (<see cref="Interest.LevelTriggered"/>) needs no such call: the next wait
/// reports it again while the condition holds.</para>
/// </remarks>
public sealed class EventLoop : IDisposable
{
    private static readonly Token WakerToken = new(ulong.MaxValue);

    private readonly IPoller _poller;
    private readonly EpollPoller? _epoll; // the same poller, typed, so its wait compiles into the loop (docs/design.md, "The loop's hot path")
    private readonly IWaker _waker;
    private readonly TokenSlab _slab = new();
    private readonly TimerQueue _timers = new();
    private readonly PollEvent[] _events;
    private readonly ConcurrentQueue<Action<EventLoop>> _posted = new();
    private List<PollEvent> _scheduled = [];
    private List<PollEvent> _running = [];
    private int _postedPending; // 1 from a Post until the loop drains _posted: one field read per turn instead of a queue probe
    private volatile bool _stopRequested;
    private bool _disposed;

    /// <summary>Creates a loop over <paramref name="poller"/>, which it then owns and disposes.</summary>
    /// <param name="poller">The readiness backend.</param>
    /// <param name="eventCapacity">The most events one wait returns (the size of the batch buffer).</param>
    public EventLoop(IPoller poller, int eventCapacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(poller);
        ArgumentOutOfRangeException.ThrowIfLessThan(eventCapacity, 1);
        _poller = poller;
        _epoll = poller as EpollPoller;
        _events = new PollEvent[eventCapacity];
        _waker = poller.CreateWaker(WakerToken);
    }

    /// <summary>The backend under this loop.</summary>
    public IPoller Poller => _poller;

    /// <summary>How many handlers are registered.</summary>
    public int RegisteredCount => _slab.Count;

    /// <summary>Events dropped because their token had been freed (counted for tests and diagnostics).</summary>
    internal long StaleEventCount { get; private set; }

    /// <summary>Turns of the loop so far (one wait and its dispatch each).</summary>
    public long Iterations { get; private set; }

    /// <summary>Events dispatched to handlers so far.</summary>
    public long EventsDispatched { get; private set; }

    /// <summary>
    /// A monotonic clock in milliseconds, read once per turn after the wait returns: cheap enough
    /// for handlers to stamp every read with (idle timeouts), and the same for every handler in a batch.
    /// </summary>
    public long NowMs { get; private set; } = TimerQueue.NowMs;

    /// <summary>Raised on the loop thread when a handler throws; the handler is then deregistered and disposed.</summary>
    public event Action<Token, Exception>? HandlerFailed;

    /// <summary>Registers <paramref name="fd"/> with the poller and gives it to <paramref name="handler"/>.</summary>
    /// <returns>The token that identifies this registration until <see cref="Deregister"/>.</returns>
    public Token Register(int fd, Interest interest, IReadinessHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var token = _slab.Add(fd, handler);
        try
        {
            _poller.Register(fd, token, interest);
        }
        catch
        {
            _slab.Remove(token);
            throw;
        }

        return token;
    }

    /// <summary>Changes the interest of a live registration.</summary>
    public void Reregister(Token token, Interest interest)
    {
        if (_slab.Get(token, out var fd) is null)
        {
            throw new InvalidOperationException($"{token} is not registered.");
        }

        _poller.Reregister(fd, token, interest);
    }

    /// <summary>
    /// Removes the registration and frees its token. Events for it that are already in the current
    /// batch, or scheduled, are dropped. The caller still owns the fd and closes it after this.
    /// </summary>
    /// <returns>False if the token was already freed.</returns>
    public bool Deregister(Token token)
    {
        if (_slab.Get(token, out var fd) is null)
        {
            return false;
        }

        _slab.Remove(token);
        _poller.Deregister(fd);
        return true;
    }

    /// <summary>
    /// A snapshot of every live registration, for shutdown and drain (it allocates; not for the hot path).
    /// Handlers can thus be found without keeping a list of their own, which would cost memory per handler.
    /// </summary>
    public List<KeyValuePair<Token, IReadinessHandler>> Registrations()
    {
        var tokens = _slab.LiveTokens();
        var registrations = new List<KeyValuePair<Token, IReadinessHandler>>(tokens.Count);
        foreach (var token in tokens)
        {
            registrations.Add(new(token, _slab.Get(token, out _)!));
        }

        return registrations;
    }

    /// <summary>True while <paramref name="token"/> is registered.</summary>
    public bool IsRegistered(Token token) => _slab.Get(token, out _) is not null;

    /// <summary>
    /// Calls the token's handler again after the current batch with <paramref name="readiness"/>, without
    /// waiting for a new edge. For handlers that stopped early to be fair to others.
    /// </summary>
    public void Schedule(Token token, Readiness readiness) => _scheduled.Add(new PollEvent(token, readiness));

    /// <summary>Runs <paramref name="callback"/> on the loop thread once <paramref name="delay"/> has passed.</summary>
    public TimerId AddTimer(TimeSpan delay, Action<EventLoop> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _timers.Add(delay, callback);
    }

    /// <summary>Cancels a timer that has not fired yet.</summary>
    /// <returns>False if it already fired or was cancelled.</returns>
    public bool CancelTimer(TimerId timer) => _timers.Cancel(timer);

    /// <summary>
    /// Asks the loop to return from <see cref="Run"/>. Safe from any thread, including a signal
    /// handler's thread: it sets a flag and wakes the poller.
    /// </summary>
    public void Stop()
    {
        _stopRequested = true;
        _waker.Wake();
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the loop thread during its next turn. Safe from any thread;
    /// this is how another thread (or a signal handler) hands work to the loop.
    /// </summary>
    public void Post(Action<EventLoop> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _posted.Enqueue(action);
        Volatile.Write(ref _postedPending, 1);
        _waker.Wake();
    }

    /// <summary>Runs until <see cref="Stop"/> is called. Fd errors are the handlers' business; a failing poller throws.</summary>
    public void Run()
    {
        while (!_stopRequested)
        {
            Turn(-1);
        }

        _stopRequested = false;
    }

    /// <summary>
    /// One turn: waits (at most <paramref name="timeoutMs"/>, less if a timer is due sooner, 0 if work is
    /// scheduled), dispatches the events, runs scheduled work and due timers.
    /// </summary>
    /// <param name="timeoutMs">-1 for no limit other than timers.</param>
    /// <returns>The number of events the poller returned.</returns>
    public int RunOnce(int timeoutMs) => Turn(timeoutMs);

    // Inlined into Run, with the epoll wait inlined into it, so a turn makes no managed call before its
    // first dispatch and the P/Invoke frame is set up once per Run, not once per wait. docs/design.md,
    // "The loop's hot path".
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Turn(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var timeout = _scheduled.Count > 0 ? 0 : _timers.Count > 0 ? MinTimeout(timeoutMs, _timers.MillisecondsUntilNext()) : timeoutMs;
        var n = _epoll is { } epoll ? epoll.Wait(_events, timeout) : _poller.Wait(_events, timeout);
        NowMs = TimerQueue.NowMs;
        Iterations++;
        for (var i = 0; i < n; i++)
        {
            ref readonly var ev = ref _events[i];
            if (ev.Token == WakerToken)
            {
                _waker.Reset();
                continue;
            }

            Dispatch(ev);
        }

        if (_scheduled.Count > 0)
        {
            RunScheduled();
        }

        if (Volatile.Read(ref _postedPending) != 0)
        {
            RunPosted();
        }

        if (_timers.Count > 0)
        {
            _timers.RunDue(this);
        }

        return n;
    }

    private void RunScheduled()
    {
        // Swap, so a handler that schedules itself again runs in the next turn, after fresh events.
        (_running, _scheduled) = (_scheduled, _running);
        foreach (var ev in _running)
        {
            Dispatch(ev);
        }

        _running.Clear();
    }

    private void RunPosted()
    {
        // Cleared before the queue is read (a full fence), so work posted while it drains sets it again.
        Interlocked.Exchange(ref _postedPending, 0);
        try
        {
            while (_posted.TryDequeue(out var action))
            {
                action(this);
            }
        }
        finally
        {
            if (!_posted.IsEmpty)
            {
                Volatile.Write(ref _postedPending, 1); // an action threw: what it left behind runs next turn
            }
        }
    }

    private void Dispatch(PollEvent ev)
    {
        var handler = _slab.Get(ev.Token, out _);
        if (handler is null)
        {
            StaleEventCount++;
            return;
        }

        EventsDispatched++;
        try
        {
            handler.OnReady(this, ev.Token, ev.Readiness);
        }
#pragma warning disable CA1031 // One faulty connection must not take the loop and every other connection down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            try
            {
                Deregister(ev.Token);
            }
            catch (IOException)
            {
                // The handler may have closed its fd before throwing (EBADF); its token is freed all the same.
            }

            handler.Dispose();
            HandlerFailed?.Invoke(ev.Token, ex);
        }
    }

    private static int MinTimeout(int a, int b) => a < 0 ? b : b < 0 ? a : Math.Min(a, b);

    /// <summary>
    /// Orderly shutdown: deregisters and disposes every handler (which closes its fd), then the waker
    /// and the poller.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var token in _slab.LiveTokens())
        {
            var handler = _slab.Get(token, out var fd);
            _slab.Remove(token);
            try
            {
                _poller.Deregister(fd);
            }
            catch (IOException)
            {
                // The fd may already be gone (a handler closed it without deregistering); closing is all that is left.
            }

            try
            {
                handler?.Dispose();
            }
#pragma warning disable CA1031 // Shutdown must reach every handler, the waker and the poller even if one handler's Dispose fails.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                HandlerFailed?.Invoke(token, ex);
            }
        }

        _waker.Dispose();
        _poller.Dispose();
    }
}
