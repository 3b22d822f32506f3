using System.Runtime.CompilerServices;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// The <see cref="EventLoop"/> compiled for one backend: <typeparamref name="TPoller"/> is a struct, so the JIT
/// generates this class once per backend and calls the poller directly, inlining its wait into the turn.
/// </summary>
internal sealed class EventLoop<TPoller> : EventLoop
    where TPoller : struct, IPoller
{
    private readonly TPoller _poller;
    private readonly IWaker _waker;

    /// <summary>Takes ownership of <paramref name="poller"/>; disposes it if the waker cannot be made.</summary>
    public EventLoop(TPoller poller, int eventCapacity)
        : base(eventCapacity)
    {
        _poller = poller;
        try
        {
            _waker = poller.CreateWaker(WakerToken);
        }
        catch
        {
            poller.Dispose();
            throw;
        }
    }

    public override string BackendName => _poller.Name;

    public override void Run()
    {
        while (!_stopRequested)
        {
            Turn(-1);
        }

        _stopRequested = false;
    }

    public override int RunOnce(int timeoutMs) => Turn(timeoutMs);

    // Inlined into Run, with the backend's wait inlined into it, so a turn makes no managed call before its
    // first dispatch and the P/Invoke frame is set up once per Run, not once per wait. docs/design.md,
    // "The loop's hot path".
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Turn(int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var timeout = _scheduled.Count > 0 ? 0 : _timers.Count > 0 ? MinTimeout(timeoutMs, _timers.MillisecondsUntilNext()) : timeoutMs;
        var n = _poller.Wait(_events, timeout);
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

    private protected override void PollerRegister(Source source, Token token, Interest interest) => _poller.Register(source, token, interest);

    private protected override void PollerReregister(Source source, Token token, Interest interest) => _poller.Reregister(source, token, interest);

    private protected override void PollerDeregister(Source source) => _poller.Deregister(source);

    private protected override void Wake() => _waker.Wake();

    private protected override void DisposePoller()
    {
        _waker.Dispose();
        _poller.Dispose();
    }
}
