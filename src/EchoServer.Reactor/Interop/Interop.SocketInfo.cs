using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// The getsockopt(2) options and errno values that describe a socket someone else created (an inherited
/// descriptor). Kept beside <see cref="OsConstants"/> rather than in it, like <see cref="UnixSocketConstants"/>;
/// values from rust libc: Linux <c>linux_like/linux/arch/generic/mod.rs</c> and <c>gnu/b64/x86_64</c>,
/// macOS <c>bsd/apple/mod.rs</c>, FreeBSD <c>bsd/freebsdlike/mod.rs</c> and <c>freebsdlike/freebsd/mod.rs</c>.
/// </summary>
internal sealed record SocketInfoConstants
{
    /// <summary>SO_TYPE: the socket's type (SOCK_STREAM, SOCK_DGRAM, …).</summary>
    public required int SO_TYPE { get; init; }

    /// <summary>SO_ACCEPTCONN: 1 once listen(2) was called.</summary>
    public required int SO_ACCEPTCONN { get; init; }

    /// <summary>SO_PROTOCOL (IPPROTO_TCP, IPPROTO_UDP, …); 0 where the OS has no such option (macOS).</summary>
    public required int SO_PROTOCOL { get; init; }

    /// <summary>ENOTSOCK: the descriptor is open but not a socket.</summary>
    public required int ENOTSOCK { get; init; }

    /// <summary>SOCK_SEQPACKET, the same everywhere.</summary>
    public int SOCK_SEQPACKET { get; init; } = 5;

    /// <summary>IPPROTO_UDP, the same everywhere.</summary>
    public int IPPROTO_UDP { get; init; } = 17;

    public static readonly SocketInfoConstants Linux = new() { SO_TYPE = 3, SO_ACCEPTCONN = 30, SO_PROTOCOL = 38, ENOTSOCK = 88 };

    public static readonly SocketInfoConstants MacOS = new() { SO_TYPE = 0x1008, SO_ACCEPTCONN = 0x0002, SO_PROTOCOL = 0, ENOTSOCK = 38 };

    public static readonly SocketInfoConstants FreeBSD = new() { SO_TYPE = 0x1008, SO_ACCEPTCONN = 0x0002, SO_PROTOCOL = 0x1016, ENOTSOCK = 38 };

    /// <summary>The table of the OS this process runs on.</summary>
    public static readonly SocketInfoConstants Current = OsConstants.Current.Os switch
    {
        OsFamily.Linux => Linux,
        OsFamily.MacOS => MacOS,
        _ => FreeBSD,
    };
}

internal static unsafe partial class Libc
{
    // int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen);      getsockname(2), room for a sockaddr_un
    [LibraryImport(Name, EntryPoint = "getsockname")]
    private static partial int getsockname_un(int fd, SockAddrUn* addr, uint* length);

    /// <summary>
    /// getsockname(2) into a buffer large enough for every family this library knows (sockaddr_un is
    /// the largest), so one call tells the family and the address of any socket.
    /// </summary>
    /// <returns>No error, or getsockname's errno; <paramref name="length"/> is how many bytes the kernel filled in.</returns>
    internal static Errno GetSockName(int fd, out SockAddrUn addr, out uint length)
    {
        addr = default;
        var size = (uint)sizeof(SockAddrUn);
        fixed (SockAddrUn* p = &addr)
        {
            var ok = getsockname_un(fd, p, &size) == 0;
            length = Math.Min(size, (uint)sizeof(SockAddrUn));
            return ok ? default : Errno.Last;
        }
    }

    /// <summary>
    /// getsockname(2) decoded: the family as the OS numbers it, and the IP endpoint (AF_INET/AF_INET6) or the
    /// unix path (AF_UNIX; see <see cref="SockAddrUn.DecodePath"/>); both null for other families.
    /// </summary>
    internal static Errno GetSocketAddress(int fd, out int family, out System.Net.IPEndPoint? endPoint, out string? unixPath)
    {
        endPoint = null;
        unixPath = null;
        var errno = GetSockName(fd, out SockAddrUn raw, out var length);
        if (errno.Value != 0)
        {
            family = 0;
            return errno;
        }

        // Every sockaddr starts with its family; read the bytes as the IP form, which SockAddr decodes per OS.
        var ip = *(SockAddr*)&raw;
        family = ip.Family;
        if (family == UnixSocketConstants.AF_UNIX)
        {
            unixPath = SockAddrUn.DecodePath(raw, length);
        }
        else if (family == OsConstants.Current.AF_INET || family == OsConstants.Current.AF_INET6)
        {
            endPoint = ip.Decode();
        }

        return default;
    }
}
