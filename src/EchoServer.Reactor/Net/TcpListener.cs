using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A non-blocking, close-on-exec listening TCP socket. Register <see cref="Source"/> as
/// <see cref="Interest.Readable"/> and call <see cref="TryAccept"/> until it reports EAGAIN.
/// </summary>
public sealed class TcpListener : IStreamListener
{
    private nint _handle;

    private TcpListener(nint handle, IPEndPoint localEndPoint)
    {
        _handle = handle;
        LocalEndPoint = localEndPoint;
    }

    /// <inheritdoc/>
    public Source Source => new(_handle);

    /// <summary>The bound address, with the real port when port 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Creates, binds and listens. SO_REUSEADDR is set so a restart can rebind past TIME_WAIT.</summary>
    /// <param name="endPoint">The address; port 0 picks a free port.</param>
    /// <param name="backlog">The accept queue length; the kernel caps it at net.core.somaxconn.</param>
    /// <param name="reusePort">Sets SO_REUSEPORT, so several listeners (one per loop) can share the port.</param>
    /// <exception cref="SyscallException">socket, setsockopt, bind or listen failed; <see cref="SyscallException.Errno"/> says why.</exception>
    public static TcpListener Bind(IPEndPoint endPoint, int backlog = -1, bool reusePort = false)
    {
        if (OperatingSystem.IsWindows())
        {
            var socket = WinsockStreams.Listen(endPoint, backlog, reusePort, out var local);
            return new TcpListener(socket, local);
        }

        var c = OsConstants.Current;
        var fd = IpSocket.Open(endPoint, c.SOCK_STREAM, out var addr, out var length);
        try
        {
            SyscallException.ThrowIfError("setsockopt(SO_REUSEADDR)", Libc.SetSocketOption(fd, c.SOL_SOCKET, c.SO_REUSEADDR, 1));
            if (reusePort)
            {
                SyscallException.ThrowIfError("setsockopt(SO_REUSEPORT)", Libc.SetSocketOption(fd, c.SOL_SOCKET, c.SO_REUSEPORT, 1));
            }

            SyscallException.ThrowIfError("bind", Libc.Bind(fd, addr, length));
            SyscallException.ThrowIfError("listen", Libc.Listen(fd, backlog < 0 ? c.SOMAXCONN : backlog));
            SyscallException.ThrowIfError("getsockname", Libc.GetSockName(fd, out var bound));
            return new TcpListener(fd, bound.Decode() ?? endPoint);
        }
        catch
        {
            _ = Libc.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Takes over a listening TCP socket this process inherited (systemd socket activation, or a parent that
    /// passed it): sets O_NONBLOCK and FD_CLOEXEC on it, and closes it on dispose. O_NONBLOCK belongs to the
    /// open file, so a copy the parent keeps becomes non-blocking too.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not a listening TCP socket.</exception>
    /// <exception cref="SyscallException">fcntl failed.</exception>
    public static TcpListener Adopt(Source source)
    {
        var description = SocketDescription.TakeOver(source.Fd, d => d.IsTcpListener, "a listening TCP socket");
        return new TcpListener(source.Fd, description.LocalEndPoint!);
    }

    /// <summary>
    /// Sets SO_OOBINLINE, which every socket this listener accepts inherits: a TCP urgent byte then stays in the
    /// stream, read in order with the rest, rather than being taken out of band (and dropped by a plain read).
    /// </summary>
    public Errno SetOobInline(bool on)
    {
        var c = OsConstants.Current;
        return SocketCalls.SetOption(_handle, c.SOL_SOCKET, c.SO_OOBINLINE, on ? 1 : 0);
    }

    /// <summary>
    /// Sets SO_RCVBUF and SO_SNDBUF on the listener (0 leaves that one to the kernel's autotuning). Every socket it accepts
    /// afterwards inherits them, and on Linux the receive window offered in the handshake is sized for them, which setting
    /// them on the accepted socket comes too late for. Call it before the listener is registered: a connection whose
    /// handshake completed before the call keeps the kernel's sizes. Linux doubles the value and caps it at
    /// net.core.rmem_max / wmem_max.
    /// </summary>
    public Errno SetBufferSizes(int receiveBytes, int sendBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(receiveBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(sendBytes);
        return SocketCalls.SetBufferSizes(_handle, receiveBytes, sendBytes);
    }

    /// <inheritdoc/>
    public bool TryAccept(out StreamSocket socket, out Errno errno) =>
        OperatingSystem.IsWindows() ? WinsockStreams.Accept(_handle, out socket, out errno) : StreamSocket.Accept((int)_handle, out socket, out errno);

    /// <summary>Closes the listening socket.</summary>
    public void Dispose() => SocketCalls.CloseOnce(ref _handle);
}
