namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The AFD poller's waker: a packet posted to the completion port (PostQueuedCompletionStatus) with the waker's token as its
/// key and no OVERLAPPED, which is how <see cref="AfdPoller.Wait"/> tells it from a poll's completion. Wakes between two
/// resets post one packet, as eventfd's counter and kqueue's EVFILT_USER coalesce.
/// </summary>
internal sealed class CompletionPortWaker(AfdPoller poller, Token token) : IWaker
{
    private int _posted;
    private volatile bool _disposed;

    public void Wake()
    {
        if (!_disposed && Interlocked.Exchange(ref _posted, 1) == 0)
        {
            poller.Post(token);
        }
    }

    public void Reset() => Volatile.Write(ref _posted, 0);

    public void Dispose() => _disposed = true;
}
