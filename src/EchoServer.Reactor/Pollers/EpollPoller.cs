using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using static EchoServer.Reactor.Interop.EpollConstants;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The Linux backend: one epoll instance, every fd registered edge-triggered (EPOLLET) unless its interest
/// says <see cref="Interest.LevelTriggered"/>, with EPOLLRDHUP so a peer's half-close is reported. See
/// <see cref="IPoller"/> for the contract (EPOLL_CTL_MOD re-polls the fd, so a mode switch loses no edge).
/// </summary>
internal sealed unsafe class EpollPoller : IPoller
{
    private readonly KernelQueue _queue;

    /// <summary>Creates an epoll instance (epoll_create1 with EPOLL_CLOEXEC).</summary>
    /// <exception cref="PlatformNotSupportedException">Not running on Linux.</exception>
    /// <exception cref="SyscallException">The kernel refused (EMFILE, ENOMEM).</exception>
    public EpollPoller()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("epoll exists only on Linux.");
        }

        var epfd = Libc.EpollCreate(out var errno);
        if (epfd < 0)
        {
            throw new SyscallException("epoll_create1", errno);
        }

        _queue = new KernelQueue(epfd, EventSize);
    }

    /// <inheritdoc/>
    public string Name => "epoll";

    /// <inheritdoc/>
    public void Register(Source source, Token token, Interest interest) => Control(EPOLL_CTL_ADD, "epoll_ctl(ADD)", source.Fd, token, interest);

    /// <inheritdoc/>
    public void Reregister(Source source, Token token, Interest interest) => Control(EPOLL_CTL_MOD, "epoll_ctl(MOD)", source.Fd, token, interest);

    /// <inheritdoc/>
    public void Deregister(Source source)
    {
        ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);

        // Kernels before 2.6.9 required a non-null event even for DEL; we pass one anyway.
        var errno = Libc.EpollCtl(_queue.Fd, EPOLL_CTL_DEL, source.Fd, 0, 0);
        if (errno.Value != 0)
        {
            throw new SyscallException("epoll_ctl(DEL)", errno);
        }
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the loop's turn: docs/design.md, "The loop's hot path"
    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
        var buffer = _queue.BufferFor(events);
        var n = KernelQueue.WaitResult(Libc.EpollWait(_queue.Fd, buffer, events.Length, timeoutMs, out var errno), errno, "epoll_wait");
        if (IsPacked)
        {
            var native = (EpollEventPacked*)buffer;
            for (var i = 0; i < n; i++)
            {
                events[i] = new PollEvent(new Token(native[i].Data), ToReadiness(native[i].Events));
            }
        }
        else
        {
            var native = (EpollEventAligned*)buffer;
            for (var i = 0; i < n; i++)
            {
                events[i] = new PollEvent(new Token(native[i].Data), ToReadiness(native[i].Events));
            }
        }

        return n;
    }

    /// <inheritdoc/>
    public IWaker CreateWaker(Token token)
    {
        ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
        var waker = new EventFdWaker();
        try
        {
            Register(Source.FromFd(waker.Fd), token, Interest.Readable);
        }
        catch
        {
            waker.Dispose();
            throw;
        }

        return waker;
    }

    /// <summary>Maps epoll's bits to <see cref="Readiness"/> (the same derivation as mio's epoll selector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Readiness ToReadiness(uint events)
    {
        var r = Readiness.None;
        if ((events & (EPOLLIN | EPOLLPRI)) != 0)
        {
            r |= Readiness.Readable;
        }

        if ((events & EPOLLPRI) != 0)
        {
            r |= Readiness.Priority;
        }

        if ((events & EPOLLOUT) != 0)
        {
            r |= Readiness.Writable;
        }

        if ((events & EPOLLERR) != 0)
        {
            r |= Readiness.Error;
        }

        // RDHUP alone (without IN) is not trusted as read-closed; HUP means both directions are done.
        if ((events & EPOLLHUP) != 0 || (events & (EPOLLIN | EPOLLRDHUP)) == (EPOLLIN | EPOLLRDHUP))
        {
            r |= Readiness.ReadClosed;
        }

        if ((events & EPOLLHUP) != 0 || (events & (EPOLLOUT | EPOLLERR)) == (EPOLLOUT | EPOLLERR) || events == EPOLLERR)
        {
            r |= Readiness.WriteClosed;
        }

        return r;
    }

    internal static uint ToEpollEvents(Interest interest)
    {
        var events = (interest & Interest.LevelTriggered) != 0 ? 0u : EPOLLET;
        if ((interest & Interest.Readable) != 0)
        {
            // EPOLLPRI: urgent data pending, so a short read (stopped at the urgent mark) is not taken as drained.
            events |= EPOLLIN | EPOLLPRI | EPOLLRDHUP;
        }

        if ((interest & Interest.Writable) != 0)
        {
            events |= EPOLLOUT;
        }

        return events;
    }

    private void Control(int op, string call, int fd, Token token, Interest interest)
    {
        // After Dispose the epoll fd number may already belong to another file (even another poller).
        ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
        InterestCheck.ThrowIfInvalid(interest);

        var errno = Libc.EpollCtl(_queue.Fd, op, fd, ToEpollEvents(interest), token.Value);
        if (errno.Value != 0)
        {
            throw new SyscallException(call, errno);
        }
    }

    /// <summary>Closes the epoll fd and frees the event buffer.</summary>
    public void Dispose() => _queue.Dispose();
}
