namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The kqueue waker: an <c>EVFILT_USER</c> event (no fd) added with <c>EV_CLEAR</c>. <see cref="Wake"/>
/// sets <c>NOTE_TRIGGER</c>, which makes the event fire once; <c>EV_CLEAR</c> resets it when a wait
/// retrieves it, so several wakes before that coalesce into one event and <see cref="Reset"/> has
/// nothing to do. This is mio's <c>src/sys/unix/waker/kqueue.rs</c>. The event reports as
/// <see cref="Readiness.Readable"/> under the waker's token.
/// </summary>
internal sealed class KqueueWaker : IWaker
{
    private readonly KqueuePoller _poller;
    private readonly nuint _ident;
    private readonly Token _token;
    private int _disposed;

    internal KqueueWaker(KqueuePoller poller, nuint ident, Token token)
    {
        _poller = poller;
        _ident = ident;
        _token = token;
    }

    public void Wake()
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            _poller.Trigger(_ident, _token);
        }
    }

    public void Reset()
    {
        // EV_CLEAR already reset the trigger when the event was retrieved.
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _poller.RemoveWaker(_ident);
        }
    }
}
