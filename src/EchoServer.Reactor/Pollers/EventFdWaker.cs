using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The epoll waker: an eventfd(2) registered readable and edge-triggered. Each write adds to the
/// counter and raises a new edge; <see cref="Reset"/> reads the counter back to zero.
/// </summary>
internal sealed class EventFdWaker : IWaker
{
    private int _fd;

    public EventFdWaker()
    {
        _fd = Libc.EventFd(out var errno);
        if (_fd < 0)
        {
            throw new SyscallException("eventfd", errno);
        }
    }

    /// <summary>The eventfd; -1 once disposed, so a late wake gets EBADF instead of writing to a reused fd number.</summary>
    public int Fd => _fd;

    public void Wake()
    {
        Span<byte> one = stackalloc byte[8];
        one[0] = 1;

        // EAGAIN means the counter is at its maximum: a wake is already pending, which is all we need.
        _ = Libc.Write(_fd, one, out _);
    }

    public void Reset()
    {
        Span<byte> counter = stackalloc byte[8];
        _ = Libc.Read(_fd, counter, out _);
    }

    public void Dispose() => Libc.CloseOnce(ref _fd);
}
