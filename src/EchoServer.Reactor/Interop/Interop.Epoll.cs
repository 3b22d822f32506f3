using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>struct epoll_event { uint32_t events; epoll_data_t data; }</c> on x86-64, where glibc
/// declares it <c>__attribute__((packed))</c> (<c>__EPOLL_PACKED</c> in sys/epoll.h): 12 bytes, data at 4.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct EpollEventPacked
{
    public uint Events;
    public ulong Data;
}

/// <summary>
/// Mirrors <c>struct epoll_event</c> on every other 64-bit architecture (arm64): natural alignment,
/// 16 bytes, data at 8.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct EpollEventAligned
{
    public uint Events;
    public ulong Data;
}

/// <summary>epoll(7) constants from sys/epoll.h (the same on x86-64 and arm64).</summary>
internal static class EpollConstants
{
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLPRI = 0x002;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 0x80000000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;

    /// <summary>True where <c>struct epoll_event</c> is packed (x86-64 and 32-bit x86).</summary>
    public static readonly bool IsPacked =
        RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    public static unsafe int EventSize => IsPacked ? sizeof(EpollEventPacked) : sizeof(EpollEventAligned);
}

internal static unsafe partial class Libc
{
    // int epoll_create1(int flags);                                                epoll_create1(2)
    [LibraryImport(Name, EntryPoint = "epoll_create1")]
    private static partial int epoll_create1(int flags);

    // int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event);          epoll_ctl(2)
    [LibraryImport(Name, EntryPoint = "epoll_ctl")]
    private static partial int epoll_ctl(int epfd, int op, int fd, void* ev);

    // int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout);   epoll_wait(2)
    [LibraryImport(Name, EntryPoint = "epoll_wait")]
    private static partial int epoll_wait(int epfd, void* events, int maxEvents, int timeoutMs);

    // int eventfd(unsigned int initval, int flags);                                eventfd(2)
    [LibraryImport(Name, EntryPoint = "eventfd")]
    private static partial int eventfd(uint initialValue, int flags);

    internal static int EpollCreate(out Errno errno)
    {
        var fd = epoll_create1(EpollConstants.EPOLL_CLOEXEC);
        errno = fd < 0 ? Errno.Last : default;
        return fd;
    }

    internal static Errno EpollCtl(int epfd, int op, int fd, uint events, ulong data)
    {
        int rc;
        if (EpollConstants.IsPacked)
        {
            var ev = new EpollEventPacked { Events = events, Data = data };
            rc = epoll_ctl(epfd, op, fd, &ev);
        }
        else
        {
            var ev = new EpollEventAligned { Events = events, Data = data };
            rc = epoll_ctl(epfd, op, fd, &ev);
        }

        return rc == 0 ? default : Errno.Last;
    }

    /// <summary>
    /// epoll_wait(2) into a native buffer of <c>struct epoll_event</c>. EINTR is not retried here:
    /// epoll_wait is never restarted after a signal (signal(7)), and the caller recomputes its
    /// timeout from its timers before waiting again.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int EpollWait(int epfd, void* events, int maxEvents, int timeoutMs, out Errno errno)
    {
        var n = epoll_wait(epfd, events, maxEvents, timeoutMs);
        errno = n < 0 ? Errno.Last : default;
        return n;
    }

    internal static int EventFd(out Errno errno)
    {
        var fd = eventfd(0, EpollConstants.EFD_CLOEXEC | EpollConstants.EFD_NONBLOCK);
        errno = fd < 0 ? Errno.Last : default;
        return fd;
    }
}
