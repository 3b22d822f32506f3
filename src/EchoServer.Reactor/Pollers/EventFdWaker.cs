using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The epoll waker: an eventfd(2) registered readable and edge-triggered. Each write adds to the
/// counter and raises a new edge; <see cref="Reset"/> reads the counter back to zero.
/// </summary>
internal sealed class EventFdWaker : IWaker
{
    private int _disposed;

    public EventFdWaker()
    {
        Fd = Libc.EventFd(out var errno);
        if (Fd < 0)
        {
            throw new SyscallException("eventfd", errno);
        }
    }

    public int Fd { get; }

    public void Wake()
    {
        Span<byte> one = stackalloc byte[8];
        one[0] = 1;

        // EAGAIN means the counter is at its maximum: a wake is already pending, which is all we need.
        _ = Libc.Write(Fd, one, out _);
    }

    public void Reset()
    {
        Span<byte> counter = stackalloc byte[8];
        _ = Libc.Read(Fd, counter, out _);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _ = Libc.Close(Fd);
        }
    }
}
