namespace EchoServer.Reactor.Interop;

/// <summary>The operating systems whose C ABI this library knows.</summary>
internal enum OsFamily
{
    /// <summary>Linux (glibc or musl), x86-64 or arm64.</summary>
    Linux,

    /// <summary>macOS (Darwin), x86-64 or arm64.</summary>
    MacOS,

    /// <summary>FreeBSD 12 or later, x86-64 or arm64.</summary>
    FreeBSD,

    /// <summary>Windows (Winsock 2), x86-64 or arm64: sockets only, for the AFD poller.</summary>
    Windows,
}

/// <summary>
/// The numbers one OS's headers give to errno values, socket options and flags. C code gets these
/// from headers at compile time; a managed binary runs on whichever OS loads it, so it must pick the
/// table at run time. No syscall wrapper may use a literal in place of a field here.
/// </summary>
/// <remarks>
/// Values were checked against rust-lang/libc (Debian's librust-libc-dev): Linux in
/// <c>src/unix/linux_like/mod.rs</c>, <c>linux_like/linux/mod.rs</c>, <c>linux/gnu/b64/x86_64/mod.rs</c>;
/// macOS in <c>src/unix/bsd/apple/mod.rs</c>; FreeBSD in <c>src/unix/bsd/freebsdlike/mod.rs</c> and
/// <c>freebsdlike/freebsd/mod.rs</c>. tests/EchoServer.Reactor.Tests/Interop/OsConstantsTests.cs holds
/// the same numbers a second time, so a typo here fails on any OS.
/// </remarks>
internal sealed record OsConstants
{
    public required OsFamily Os { get; init; }

    // errno, <errno.h> (Linux asm-generic/errno-base.h + errno.h; BSD sys/errno.h)
    public int EPERM { get; init; } = 1;
    public int ENOENT { get; init; } = 2;
    public int EINTR { get; init; } = 4;
    public int EBADF { get; init; } = 9;
    public int ENOMEM { get; init; } = 12;
    public int EACCES { get; init; } = 13;
    public int EEXIST { get; init; } = 17;
    public int EINVAL { get; init; } = 22;
    public int ENFILE { get; init; } = 23;
    public int EMFILE { get; init; } = 24;
    public int EPIPE { get; init; } = 32;
    public required int EAGAIN { get; init; }
    public required int EINPROGRESS { get; init; }
    public required int EAFNOSUPPORT { get; init; }
    public required int EADDRINUSE { get; init; }
    public required int EADDRNOTAVAIL { get; init; }
    public required int ENETUNREACH { get; init; }
    public required int ECONNABORTED { get; init; }
    public required int ECONNRESET { get; init; }
    public required int ENOBUFS { get; init; }
    public required int ENOTCONN { get; init; }
    public required int ETIMEDOUT { get; init; }
    public required int ECONNREFUSED { get; init; }
    public required int EHOSTUNREACH { get; init; }
    public required int EPROTO { get; init; }

    // <sys/socket.h>, <netinet/in.h>, <netinet/tcp.h>
    public int AF_INET { get; init; } = 2;
    public required int AF_INET6 { get; init; }
    public int SOCK_STREAM { get; init; } = 1;
    public int SOCK_DGRAM { get; init; } = 2;

    /// <summary>0 where socket()/accept4() take no such flag (macOS): use fcntl instead.</summary>
    public required int SOCK_NONBLOCK { get; init; }

    /// <summary>0 where socket()/accept4() take no such flag (macOS): use fcntl instead.</summary>
    public required int SOCK_CLOEXEC { get; init; }
    public required int SOL_SOCKET { get; init; }
    public required int SO_REUSEADDR { get; init; }
    public required int SO_REUSEPORT { get; init; }
    public required int SO_ERROR { get; init; }
    public required int SO_LINGER { get; init; }
    public required int SO_SNDBUF { get; init; }
    public required int SO_RCVBUF { get; init; }
    public required int SO_OOBINLINE { get; init; }

    /// <summary>0 where the option does not exist (Linux uses MSG_NOSIGNAL per call).</summary>
    public required int SO_NOSIGPIPE { get; init; }
    public int IPPROTO_TCP { get; init; } = 6;
    public int TCP_NODELAY { get; init; } = 1;
    public int IPPROTO_IPV6 { get; init; } = 41;
    public required int IPV6_V6ONLY { get; init; }

    /// <summary>0 where send() has no such flag and SO_NOSIGPIPE is used instead (macOS).</summary>
    public required int MSG_NOSIGNAL { get; init; }
    public int SHUT_RD { get; init; }
    public int SHUT_WR { get; init; } = 1;
    public int SHUT_RDWR { get; init; } = 2;
    public required int SOMAXCONN { get; init; }

    // <fcntl.h>
    public int F_SETFD { get; init; } = 2;
    public int F_GETFL { get; init; } = 3;
    public int F_SETFL { get; init; } = 4;
    public int FD_CLOEXEC { get; init; } = 1;
    public required int O_NONBLOCK { get; init; }

    // <sys/resource.h>
    public required int RLIMIT_NOFILE { get; init; }

    // splice(2) and pipes: Linux only; 0 (and HasSplice false) where there is no splice.

    /// <summary>&lt;fcntl.h&gt; O_CLOEXEC, for pipe2(2).</summary>
    public int O_CLOEXEC { get; init; }

    /// <summary>&lt;fcntl.h&gt; SPLICE_F_MOVE: move pages instead of copying where the kernel can.</summary>
    public int SPLICE_F_MOVE { get; init; }

    /// <summary>&lt;fcntl.h&gt; SPLICE_F_NONBLOCK: do not block on the pipe.</summary>
    public int SPLICE_F_NONBLOCK { get; init; }

    /// <summary>&lt;fcntl.h&gt; F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7).</summary>
    public int F_SETPIPE_SZ { get; init; }

    /// <summary>&lt;fcntl.h&gt; F_GETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 8).</summary>
    public int F_GETPIPE_SZ { get; init; }

    /// <summary>True where splice(2) exists (Linux).</summary>
    public bool HasSplice { get; init; }

    /// <summary>Linux, x86-64 and arm64 (asm-generic values; not valid for MIPS/SPARC/Alpha).</summary>
    public static readonly OsConstants Linux = new()
    {
        Os = OsFamily.Linux,
        EAGAIN = 11, EINPROGRESS = 115, EAFNOSUPPORT = 97, EADDRINUSE = 98, EADDRNOTAVAIL = 99,
        ENETUNREACH = 101, ECONNABORTED = 103, ECONNRESET = 104, ENOBUFS = 105, ENOTCONN = 107,
        ETIMEDOUT = 110, ECONNREFUSED = 111, EHOSTUNREACH = 113, EPROTO = 71,
        AF_INET6 = 10, SOCK_NONBLOCK = 0x800, SOCK_CLOEXEC = 0x80000,
        SOL_SOCKET = 1, SO_REUSEADDR = 2, SO_REUSEPORT = 15, SO_ERROR = 4, SO_LINGER = 13,
        SO_SNDBUF = 7, SO_RCVBUF = 8, SO_OOBINLINE = 10, SO_NOSIGPIPE = 0, IPV6_V6ONLY = 26,
        MSG_NOSIGNAL = 0x4000, SOMAXCONN = 4096, O_NONBLOCK = 0x800, RLIMIT_NOFILE = 7,
        O_CLOEXEC = 0x80000, SPLICE_F_MOVE = 1, SPLICE_F_NONBLOCK = 2, F_SETPIPE_SZ = 1031, F_GETPIPE_SZ = 1032,
        HasSplice = true,
    };

    /// <summary>macOS: no accept4/SOCK_NONBLOCK; SIGPIPE suppressed per socket with SO_NOSIGPIPE.</summary>
    public static readonly OsConstants MacOS = new()
    {
        Os = OsFamily.MacOS,
        EAGAIN = 35, EINPROGRESS = 36, EAFNOSUPPORT = 47, EADDRINUSE = 48, EADDRNOTAVAIL = 49,
        ENETUNREACH = 51, ECONNABORTED = 53, ECONNRESET = 54, ENOBUFS = 55, ENOTCONN = 57,
        ETIMEDOUT = 60, ECONNREFUSED = 61, EHOSTUNREACH = 65, EPROTO = 100,
        AF_INET6 = 30, SOCK_NONBLOCK = 0, SOCK_CLOEXEC = 0,
        SOL_SOCKET = 0xffff, SO_REUSEADDR = 0x4, SO_REUSEPORT = 0x200, SO_ERROR = 0x1007, SO_LINGER = 0x80,
        SO_SNDBUF = 0x1001, SO_RCVBUF = 0x1002, SO_OOBINLINE = 0x100, SO_NOSIGPIPE = 0x1022, IPV6_V6ONLY = 27,
        MSG_NOSIGNAL = 0, SOMAXCONN = 128, O_NONBLOCK = 0x4, RLIMIT_NOFILE = 8,
    };

    /// <summary>FreeBSD 12+: accept4 and SOCK_NONBLOCK exist, with BSD values.</summary>
    public static readonly OsConstants FreeBSD = new()
    {
        Os = OsFamily.FreeBSD,
        EAGAIN = 35, EINPROGRESS = 36, EAFNOSUPPORT = 47, EADDRINUSE = 48, EADDRNOTAVAIL = 49,
        ENETUNREACH = 51, ECONNABORTED = 53, ECONNRESET = 54, ENOBUFS = 55, ENOTCONN = 57,
        ETIMEDOUT = 60, ECONNREFUSED = 61, EHOSTUNREACH = 65, EPROTO = 92,
        AF_INET6 = 28, SOCK_NONBLOCK = 0x20000000, SOCK_CLOEXEC = 0x10000000,
        SOL_SOCKET = 0xffff, SO_REUSEADDR = 0x4, SO_REUSEPORT = 0x200, SO_ERROR = 0x1007, SO_LINGER = 0x80,
        SO_SNDBUF = 0x1001, SO_RCVBUF = 0x1002, SO_OOBINLINE = 0x100, SO_NOSIGPIPE = 0x800, IPV6_V6ONLY = 27,
        MSG_NOSIGNAL = 0x20000, SOMAXCONN = 128, O_NONBLOCK = 0x4, RLIMIT_NOFILE = 8,
    };

    /// <summary>
    /// Windows: the errno fields hold the Winsock error each meaning comes back as (winerror.h WSAE*; Winsock has no
    /// EPIPE, so EPIPE is WSAESHUTDOWN, a send after shutdown; ENOMEM is WSA_NOT_ENOUGH_MEMORY). No fcntl, rlimits or
    /// splice: those fields stay 0.
    /// </summary>
    public static readonly OsConstants Windows = new()
    {
        Os = OsFamily.Windows,
        EPERM = 10013, ENOENT = 2, EINTR = 10004, EBADF = 10038, ENOMEM = 8, EACCES = 10013, EEXIST = 183,
        EINVAL = 10022, ENFILE = 10024, EMFILE = 10024, EPIPE = 10058,
        EAGAIN = 10035, EINPROGRESS = 10036, EAFNOSUPPORT = 10047, EADDRINUSE = 10048, EADDRNOTAVAIL = 10049,
        ENETUNREACH = 10051, ECONNABORTED = 10053, ECONNRESET = 10054, ENOBUFS = 10055, ENOTCONN = 10057,
        ETIMEDOUT = 10060, ECONNREFUSED = 10061, EHOSTUNREACH = 10065, EPROTO = 10041,
        AF_INET6 = 23, SOCK_NONBLOCK = 0, SOCK_CLOEXEC = 0,
        SOL_SOCKET = 0xffff, SO_REUSEADDR = 0x4, SO_REUSEPORT = 0, SO_ERROR = 0x1007, SO_LINGER = 0x80,
        SO_SNDBUF = 0x1001, SO_RCVBUF = 0x1002, SO_OOBINLINE = 0x100, SO_NOSIGPIPE = 0, IPV6_V6ONLY = 27,
        MSG_NOSIGNAL = 0, SOMAXCONN = 0x7fffffff, O_NONBLOCK = 0, RLIMIT_NOFILE = 0,
        SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2, F_SETFD = 0, F_GETFL = 0, F_SETFL = 0, FD_CLOEXEC = 0,
    };

    /// <summary>The table of the OS this process runs on.</summary>
    public static readonly OsConstants Current = Detect();

    private static OsConstants Detect()
    {
        if (OperatingSystem.IsLinux())
        {
            return Linux;
        }

        if (OperatingSystem.IsMacOS())
        {
            return MacOS;
        }

        if (OperatingSystem.IsFreeBSD())
        {
            return FreeBSD;
        }

        if (OperatingSystem.IsWindows())
        {
            return Windows;
        }

        throw new PlatformNotSupportedException(
            $"EchoServer.Reactor supports Linux, macOS, FreeBSD and Windows, not {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
    }
}
