using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static unsafe partial class Libc
{
    // int socket(int domain, int type, int protocol);                              socket(2)
    [LibraryImport(Name, EntryPoint = "socket")]
    private static partial int socket(int domain, int type, int protocol);

    // int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen);
    [LibraryImport(Name, EntryPoint = "setsockopt")]
    private static partial int setsockopt(int fd, int level, int name, void* value, uint length);

    // int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen);
    [LibraryImport(Name, EntryPoint = "getsockopt")]
    private static partial int getsockopt(int fd, int level, int name, void* value, uint* length);

    // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);        bind(2)
    [LibraryImport(Name, EntryPoint = "bind")]
    private static partial int bind(int fd, SockAddr* addr, uint length);

    // int listen(int sockfd, int backlog);                                         listen(2)
    [LibraryImport(Name, EntryPoint = "listen")]
    private static partial int listen(int fd, int backlog);

    // int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);   accept(2), Linux/FreeBSD
    [LibraryImport(Name, EntryPoint = "accept4")]
    private static partial int accept4(int fd, SockAddr* addr, uint* length, int flags);

    // int accept(int sockfd, struct sockaddr *addr, socklen_t *addrlen);           accept(2), macOS
    [LibraryImport(Name, EntryPoint = "accept")]
    private static partial int accept(int fd, SockAddr* addr, uint* length);

    // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);     connect(2)
    [LibraryImport(Name, EntryPoint = "connect")]
    private static partial int connect(int fd, SockAddr* addr, uint length);

    // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);      getsockname(2)
    [LibraryImport(Name, EntryPoint = "getsockname")]
    private static partial int getsockname(int fd, SockAddr* addr, uint* length);

    // int getpeername(int sockfd, struct sockaddr *addr, socklen_t *addrlen);      getpeername(2)
    [LibraryImport(Name, EntryPoint = "getpeername")]
    private static partial int getpeername(int fd, SockAddr* addr, uint* length);

    // int shutdown(int sockfd, int how);                                           shutdown(2)
    [LibraryImport(Name, EntryPoint = "shutdown")]
    private static partial int shutdown(int fd, int how);

    private static readonly bool s_hasAccept4 = OsConstants.Current.SOCK_NONBLOCK != 0;

    /// <summary>A non-blocking, close-on-exec socket of the given family and type.</summary>
    internal static int Socket(int domain, int type, out Errno errno)
    {
        var c = OsConstants.Current;
        var fd = socket(domain, type | c.SOCK_NONBLOCK | c.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            errno = Errno.Last;
            return -1;
        }

        errno = FinishNewFd(fd);
        return errno.Value == 0 ? fd : -1;
    }

    /// <summary>accept4(2) (accept + fcntl where accept4 is missing), retried on EINTR.</summary>
    /// <returns>The new non-blocking, close-on-exec fd, or -1 with <paramref name="errno"/> set.</returns>
    internal static int Accept(int listenFd, out SockAddr peer, out Errno errno)
    {
        var flags = OsConstants.Current.SOCK_NONBLOCK | OsConstants.Current.SOCK_CLOEXEC;
        peer = default;
        int fd;
        fixed (SockAddr* p = &peer)
        {
            uint length;
            do
            {
                length = (uint)sizeof(SockAddr);
            }
            while (!Completed(s_hasAccept4 ? accept4(listenFd, p, &length, flags) : accept(listenFd, p, &length), out fd, out errno));
        }

        if (fd >= 0 && !s_hasAccept4)
        {
            errno = FinishNewFd(fd);
        }

        return errno.Value == 0 ? fd : -1;
    }

    // Where socket()/accept() cannot set the flags atomically (macOS), set them now, and ask for
    // EPIPE instead of SIGPIPE per socket. On failure the fd is closed, so no error path leaks it.
    private static Errno FinishNewFd(int fd)
    {
        var c = OsConstants.Current;
        if (s_hasAccept4 && c.SO_NOSIGPIPE == 0)
        {
            return default;
        }

        var errno = s_hasAccept4 ? default : SetNonBlockingCloseOnExec(fd);
        if (errno.Value == 0 && c.SO_NOSIGPIPE != 0)
        {
            errno = SetSocketOption(fd, c.SOL_SOCKET, c.SO_NOSIGPIPE, 1);
        }

        if (errno.Value != 0)
        {
            _ = close(fd);
        }

        return errno;
    }

    internal static Errno SetSocketOption(int fd, int level, int name, int value) =>
        setsockopt(fd, level, name, &value, sizeof(int)) == 0 ? default : Errno.Last;

    internal static Errno GetSocketOption(int fd, int level, int name, out int value)
    {
        int v = 0;
        uint length = sizeof(int);
        var ok = getsockopt(fd, level, name, &v, &length) == 0;
        value = v;
        return ok ? default : Errno.Last;
    }

    /// <summary>struct linger { int l_onoff; int l_linger; } — SO_LINGER with timeout 0 makes close(2) send RST.</summary>
    internal static Errno SetLingerZero(int fd)
    {
        var c = OsConstants.Current;
        var linger = stackalloc int[2] { 1, 0 };
        return setsockopt(fd, c.SOL_SOCKET, c.SO_LINGER, linger, 2 * sizeof(int)) == 0 ? default : Errno.Last;
    }

    internal static Errno Bind(int fd, in SockAddr addr, uint length)
    {
        fixed (SockAddr* p = &addr)
        {
            return bind(fd, p, length) == 0 ? default : Errno.Last;
        }
    }

    internal static Errno Listen(int fd, int backlog) => listen(fd, backlog) == 0 ? default : Errno.Last;

    /// <summary>connect(2) on a non-blocking socket: success, EINPROGRESS, or a real error.</summary>
    /// <remarks>Not retried on EINTR: the connection continues in the background, like EINPROGRESS (connect(2)).</remarks>
    internal static Errno Connect(int fd, in SockAddr addr, uint length)
    {
        fixed (SockAddr* p = &addr)
        {
            return connect(fd, p, length) == 0 ? default : Errno.Last;
        }
    }

    internal static Errno GetSockName(int fd, out SockAddr addr)
    {
        addr = default;
        var length = (uint)sizeof(SockAddr);
        fixed (SockAddr* p = &addr)
        {
            return getsockname(fd, p, &length) == 0 ? default : Errno.Last;
        }
    }

    internal static Errno GetPeerName(int fd, out SockAddr addr)
    {
        addr = default;
        var length = (uint)sizeof(SockAddr);
        fixed (SockAddr* p = &addr)
        {
            return getpeername(fd, p, &length) == 0 ? default : Errno.Last;
        }
    }

    internal static Errno Shutdown(int fd, int how) => shutdown(fd, how) == 0 ? default : Errno.Last;
}
