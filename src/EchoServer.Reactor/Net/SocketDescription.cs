using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// What the kernel says about a descriptor this process did not create itself (one inherited from a
/// service manager, say): is it open, is it a socket, of which family and type, is it listening, what is
/// it bound to. Built by <see cref="Describe"/> from getsockopt(2) SO_TYPE, SO_ACCEPTCONN, SO_PROTOCOL and
/// getsockname(2); nothing is changed on the descriptor.
/// </summary>
public sealed record SocketDescription
{
    /// <summary>The descriptor described.</summary>
    public required int Fd { get; init; }

    /// <summary>False when the descriptor is not open (EBADF).</summary>
    public bool IsOpen { get; init; }

    /// <summary>False when it is open but not a socket (ENOTSOCK): a file, a pipe, a terminal.</summary>
    public bool IsSocket { get; init; }

    /// <summary>InterNetwork, InterNetworkV6, Unix, or Unknown for any other family.</summary>
    public AddressFamily Family { get; init; } = AddressFamily.Unknown;

    /// <summary>Stream, Dgram, Seqpacket, or Unknown.</summary>
    public SocketType Type { get; init; } = SocketType.Unknown;

    /// <summary>For IP sockets, Tcp or Udp where the OS tells (SO_PROTOCOL; not on macOS: Unknown there).</summary>
    public ProtocolType Protocol { get; init; } = ProtocolType.Unknown;

    /// <summary>True once listen(2) was called on it (SO_ACCEPTCONN).</summary>
    public bool IsListening { get; init; }

    /// <summary>The bound IP address and port (port 0 = not bound), for IP sockets.</summary>
    public IPEndPoint? LocalEndPoint { get; init; }

    /// <summary>The bound path for unix sockets: a file path, <c>"\0name"</c> for an abstract name, or empty when unnamed.</summary>
    public string? UnixPath { get; init; }

    /// <summary>The address in words: <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>, <c>unix:/run/echo.sock</c>, <c>unix:@name</c>.</summary>
    public string Address => UnixPath is { } path ? $"unix:{(path.StartsWith('\0') ? "@" + path[1..] : path)}" : LocalEndPoint?.ToString() ?? "?";

    /// <summary>A listening TCP socket (IPv4 or IPv6) that <see cref="TcpListener.Adopt"/> takes.</summary>
    public bool IsTcpListener => IsIp && Type == SocketType.Stream && IsListening && Protocol is ProtocolType.Tcp or ProtocolType.Unknown;

    /// <summary>A listening unix stream socket that <see cref="UnixListener.Adopt"/> takes.</summary>
    public bool IsUnixListener => Family == AddressFamily.Unix && Type == SocketType.Stream && IsListening;

    /// <summary>A UDP socket bound to a port, that <see cref="UdpSocket.Adopt"/> takes.</summary>
    public bool IsBoundUdp => IsIp && Type == SocketType.Dgram && Protocol is ProtocolType.Udp or ProtocolType.Unknown
        && LocalEndPoint is { Port: > 0 };

    private bool IsIp => Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6;

    /// <summary>
    /// What every Adopt factory does: checks that <paramref name="fd"/> is the kind of socket it takes, then
    /// makes it non-blocking and close-on-exec.
    /// </summary>
    /// <exception cref="ArgumentException">It is not <paramref name="expected"/>.</exception>
    internal static SocketDescription TakeOver(int fd, Func<SocketDescription, bool> isExpected, string expected)
    {
        var description = Describe(fd);
        if (!isExpected(description))
        {
            throw new ArgumentException($"fd {fd} is not {expected}.", nameof(fd));
        }

        SyscallException.ThrowIfError("fcntl(O_NONBLOCK, FD_CLOEXEC)", Libc.SetNonBlockingCloseOnExec(fd));
        return description;
    }

    /// <summary>Asks the kernel about <paramref name="fd"/>.</summary>
    /// <exception cref="SyscallException">getsockopt or getsockname failed for a reason other than EBADF/ENOTSOCK.</exception>
    public static SocketDescription Describe(int fd)
    {
        var c = OsConstants.Current;
        var s = SocketInfoConstants.Current;
        var errno = Libc.GetSocketOption(fd, c.SOL_SOCKET, s.SO_TYPE, out var type);
        if (errno.Value == c.EBADF)
        {
            return new SocketDescription { Fd = fd };
        }

        if (errno.Value == s.ENOTSOCK)
        {
            return new SocketDescription { Fd = fd, IsOpen = true };
        }

        SyscallException.ThrowIfError("getsockopt(SO_TYPE)", errno);
        SyscallException.ThrowIfError("getsockopt(SO_ACCEPTCONN)", Libc.GetSocketOption(fd, c.SOL_SOCKET, s.SO_ACCEPTCONN, out var listening));
        SyscallException.ThrowIfError("getsockname", Libc.GetSocketAddress(fd, out var family, out var endPoint, out var unixPath));
        var description = new SocketDescription
        {
            Fd = fd,
            IsOpen = true,
            IsSocket = true,
            IsListening = listening != 0,
            Type = type == c.SOCK_STREAM ? SocketType.Stream
                : type == c.SOCK_DGRAM ? SocketType.Dgram
                : type == s.SOCK_SEQPACKET ? SocketType.Seqpacket
                : SocketType.Unknown,
            Family = family == c.AF_INET ? AddressFamily.InterNetwork
                : family == c.AF_INET6 ? AddressFamily.InterNetworkV6
                : family == UnixSocketConstants.AF_UNIX ? AddressFamily.Unix
                : AddressFamily.Unknown,
        };

        if (description.IsIp)
        {
            var protocol = ProtocolType.Unknown;
            if (s.SO_PROTOCOL != 0 && Libc.GetSocketOption(fd, c.SOL_SOCKET, s.SO_PROTOCOL, out var number).Value == 0)
            {
                protocol = number == c.IPPROTO_TCP ? ProtocolType.Tcp : number == s.IPPROTO_UDP ? ProtocolType.Udp : (ProtocolType)number;
            }

            return description with { LocalEndPoint = endPoint, Protocol = protocol };
        }

        return description with { UnixPath = unixPath };
    }
}
