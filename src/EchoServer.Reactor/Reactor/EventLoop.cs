using System.Collections.Concurrent;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// The reactor: a single-threaded loop that waits for readiness, maps each event's <see cref="Token"/> to the
/// <see cref="IReadinessHandler"/> that owns the registered <see cref="Source"/>, and runs due timers. This is the
/// level to build a server on (a loop and handlers); <see cref="IPoller"/> is the level below, for a new backend.
/// </summary>
/// <remarks>
/// <para>Threads: <see cref="Post"/> and <see cref="Stop"/> are safe from any thread (a signal handler's too);
/// every other member must be called on the loop thread (the one inside <see cref="Run"/>), or before the loop
/// starts.</para>
/// <para>The backend is chosen once, when the loop is created (<see cref="Create(PollerKind, int)"/>): the loop is
/// compiled for it, so its wait and its registration calls are direct calls (docs/design.md, "The loop's hot path").</para>
/// <para>Fairness: under edge-triggered readiness a handler that stops before EAGAIN gets no new event for data
/// already queued (epoll(7), "Possible pitfalls"). Such a handler calls <see cref="Schedule"/>; scheduled tokens
/// run after the current batch, and while any are pending the loop polls with a zero timeout so fresh events are
/// interleaved with the resumed work. A level-triggered registration (<see cref="Interest.LevelTriggered"/>)
/// needs no such call: the next wait reports it again while the condition holds.</para>
/// </remarks>
public abstract partial class EventLoop : IDisposable
{
    private protected static readonly Token WakerToken = new(ulong.MaxValue);

    private protected readonly TokenSlab _slab = new();
    private protected readonly TimerQueue _timers = new();
    private protected readonly PollEvent[] _events;
    private readonly ConcurrentQueue<Action<EventLoop>> _posted = new();
    private protected List<PollEvent> _scheduled = [];
    private List<PollEvent> _running = [];
    private protected int _postedPending; // 1 from a Post until the loop drains _posted: one field read per turn instead of a queue probe
    private protected volatile bool _stopRequested;
    private protected bool _disposed;

    private protected EventLoop(int eventCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(eventCapacity, 1);
        _events = new PollEvent[eventCapacity];
    }

    /// <summary>Creates a loop on the backend <paramref name="kind"/> names (<see cref="PollerKind.Auto"/>: the OS's own).</summary>
    /// <param name="kind">The readiness backend.</param>
    /// <param name="eventCapacity">The most events one wait returns (the size of the batch buffer).</param>
    /// <exception cref="PlatformNotSupportedException">The OS lacks that backend.</exception>
    /// <exception cref="SyscallException">The kernel refused to create the queue or the waker (EMFILE, ENOMEM).</exception>
    public static EventLoop Create(PollerKind kind = PollerKind.Auto, int eventCapacity = 1024) =>
        PollerFactory.Create(kind, new LoopFactory(eventCapacity));

    /// <summary>Creates a loop over a poller of the caller's (a backend of its own), which the loop then owns and disposes.</summary>
    public static EventLoop Create(IPoller poller) => Create(poller, 1024);

    /// <summary>Creates a loop over a poller of the caller's, returning at most <paramref name="eventCapacity"/> events per wait.</summary>
    public static EventLoop Create(IPoller poller, int eventCapacity)
    {
        ArgumentNullException.ThrowIfNull(poller);
        return new LoopFactory(eventCapacity).Use(new InterfaceBackend(poller));
    }

    /// <summary>The backend's name: "epoll" or "kqueue" (or the <see cref="IPoller.Name"/> of a poller passed in).</summary>
    public abstract string BackendName { get; }

    /// <summary>How many handlers are registered.</summary>
    public int RegisteredCount => _slab.Count;

    /// <summary>Events dropped because their token had been freed (counted for tests and diagnostics).</summary>
    internal long StaleEventCount { get; private set; }

    /// <summary>Turns of the loop so far (one wait and its dispatch each).</summary>
    public long Iterations { get; private protected set; }

    /// <summary>Events dispatched to handlers so far.</summary>
    public long EventsDispatched { get; private set; }

    /// <summary>
    /// A monotonic clock in milliseconds, read once per turn after the wait returns: cheap enough
    /// for handlers to stamp every read with (idle timeouts), and the same for every handler in a batch.
    /// </summary>
    public long NowMs { get; private protected set; } = TimerQueue.NowMs;

    /// <summary>Raised on the loop thread when a handler throws; the handler is then deregistered and disposed.</summary>
    public event Action<Token, Exception>? HandlerFailed;

    /// <summary>Registers <paramref name="source"/> with the poller and gives it to <paramref name="handler"/>.</summary>
    /// <returns>The token that identifies this registration until <see cref="Deregister"/>.</returns>
    public Token Register(Source source, Interest interest, IReadinessHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var token = _slab.Add(source, handler);
        try
        {
            PollerRegister(source, token, interest);
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
        if (_slab.Get(token, out var source) is null)
        {
            throw new InvalidOperationException($"{token} is not registered.");
        }

        PollerReregister(source, token, interest);
    }

    /// <summary>
    /// Removes the registration and frees its token. Events for it that are already in the current
    /// batch, or scheduled, are dropped. The caller still owns the source and closes it after this.
    /// </summary>
    /// <returns>False if the token was already freed.</returns>
    public bool Deregister(Token token)
    {
        if (_slab.Get(token, out var source) is null)
        {
            return false;
        }

        _slab.Remove(token);
        PollerDeregister(source);
        return true;
    }

    /// <summary>
    /// Every live registration whose handler is a <typeparamref name="THandler"/>, for shutdown and drain (it
    /// allocates; not for the hot path). Handlers can thus be found without a list of their own, which would cost
    /// memory per handler.
    /// </summary>
    public List<(Token Token, THandler Handler)> Handlers<THandler>()
        where THandler : class, IReadinessHandler
    {
        var found = new List<(Token, THandler)>();
        foreach (var token in _slab.LiveTokens())
        {
            if (_slab.Get(token, out _) is THandler handler)
            {
                found.Add((token, handler));
            }
        }

        return found;
    }

    /// <summary>True while <paramref name="token"/> is registered.</summary>
    public bool IsRegistered(Token token) => _slab.Get(token, out _) is not null;

    /// <summary>
    /// Calls the token's handler again after the current batch with <paramref name="readiness"/>, without
    /// waiting for a new edge. For handlers that stopped early to be fair to others.
    /// </summary>
    public void Schedule(Token token, Readiness readiness) => _scheduled.Add(new PollEvent(token, readiness));

    /// <summary>
    /// Runs <paramref name="callback"/> on the loop thread once <paramref name="delay"/> has passed, and again after
    /// each delay it returns, until it returns null (redis's <c>ae</c> time events): periodic work is one callback.
    /// </summary>
    /// <returns>The timer's id, the same for every run, for <see cref="CancelTimer"/>.</returns>
    public TimerId AddTimer(TimeSpan delay, TimerCallback callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _timers.Add(delay, callback);
    }

    /// <summary>Runs <paramref name="callback"/> once on the loop thread, once <paramref name="delay"/> has passed.</summary>
    /// <returns>The timer's id, for <see cref="CancelTimer"/>.</returns>
    public TimerId AddTimer(TimeSpan delay, Action<EventLoop> callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        return _timers.Add(delay, loop =>
        {
            callback(loop);
            return null;
        });
    }

    /// <summary>Cancels a timer: it does not run again (a periodic one included).</summary>
    /// <returns>False if it already ended or was cancelled.</returns>
    public bool CancelTimer(TimerId timer) => _timers.Cancel(timer);

    /// <summary>
    /// Asks the loop to return from <see cref="Run"/>. Safe from any thread, including a signal
    /// handler's thread: it sets a flag and wakes the poller.
    /// </summary>
    public void Stop()
    {
        _stopRequested = true;
        Wake();
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
        Wake();
    }

    /// <summary>Runs until <see cref="Stop"/> is called. Errors of a source are its handler's business; a failing poller throws.</summary>
    public abstract void Run();

    /// <summary>
    /// One turn: waits (at most <paramref name="timeoutMs"/>, less if a timer is due sooner, 0 if work is
    /// scheduled), dispatches the events, runs scheduled work and due timers.
    /// </summary>
    /// <param name="timeoutMs">-1 for no limit other than timers.</param>
    /// <returns>The number of events the poller returned.</returns>
    public abstract int RunOnce(int timeoutMs);

    private protected abstract void PollerRegister(Source source, Token token, Interest interest);

    private protected abstract void PollerReregister(Source source, Token token, Interest interest);

    private protected abstract void PollerDeregister(Source source);

    private protected abstract void Wake();

    /// <summary>
    /// Orderly shutdown: deregisters and disposes every handler (which closes its source), then the waker
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
            var handler = _slab.Get(token, out var source);
            _slab.Remove(token);
            try
            {
                PollerDeregister(source);
            }
            catch (IOException)
            {
                // The source may already be gone (a handler closed it without deregistering); closing is all that is left.
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

        DisposePoller();
        GC.SuppressFinalize(this);
    }

    /// <summary>Closes the waker and the poller.</summary>
    private protected abstract void DisposePoller();

    /// <summary>Builds the loop for the backend the factory chose.</summary>
    private sealed class LoopFactory(int eventCapacity) : IBackendConsumer<EventLoop>
    {
        public EventLoop Use<TPoller>(TPoller poller)
            where TPoller : struct, IPoller => new EventLoop<TPoller>(poller, eventCapacity);
    }
}
