using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// An unbound, non-blocking, close-on-exec unix-domain datagram socket that sends datagrams to a path
/// (or, on Linux, to an abstract name written with a leading NUL, as .NET's <c>UnixDomainSocketEndPoint</c>
/// writes it). The kind of socket a service manager's notification protocol uses.
/// </summary>
public sealed class UnixDatagramSocket : IDisposable
{
    private int _fd;

    private UnixDatagramSocket(int fd)
    {
        _fd = fd;
    }

    /// <summary>What to register with the event loop (<see cref="Source.None"/> once disposed).</summary>
    public Source Source => Source.FromFd(_fd);

    /// <summary>Creates the socket.</summary>
    /// <exception cref="SyscallException">socket(2) failed.</exception>
    public static UnixDatagramSocket Open()
    {
        var fd = Libc.Socket(UnixSocketConstants.AF_UNIX, OsConstants.Current.SOCK_DGRAM, out var errno);
        return fd < 0 ? throw new SyscallException("socket(AF_UNIX, SOCK_DGRAM)", errno) : new UnixDatagramSocket(fd);
    }

    /// <summary>Sends one datagram to <paramref name="address"/>.</summary>
    /// <param name="datagram">The whole payload.</param>
    /// <param name="address">A socket path, or <c>"\0name"</c> for a Linux abstract name.</param>
    /// <param name="errno">EAGAIN when the receiver's queue is full (the datagram is not sent); ECONNREFUSED or
    /// ENOENT when nothing is bound there.</param>
    /// <returns>The bytes sent, or -1 with <paramref name="errno"/> set.</returns>
    /// <exception cref="ArgumentException">The address is empty, too long or malformed.</exception>
    public int SendTo(ReadOnlySpan<byte> datagram, string address, out Errno errno)
    {
        var length = SockAddrUn.EncodeDestination(address, out var addr);
        return Libc.SendTo(_fd, datagram, addr, length, out errno);
    }

    /// <summary>Closes the socket.</summary>
    public void Dispose() => Libc.CloseOnce(ref _fd);
}
