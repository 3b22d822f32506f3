using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A connected, non-blocking TCP socket. Every operation returns at once: a result of -1 with
/// <see cref="Errno.IsWouldBlock"/> means "wait for the next readiness event".
/// </summary>
public sealed class TcpSocket : IDisposable
{
    private int _fd;

    /// <summary>Takes ownership of a connected, non-blocking socket fd.</summary>
    public TcpSocket(int fd)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        _fd = fd;
    }

    /// <summary>The socket's file descriptor (-1 once disposed).</summary>
    public int Fd => _fd;

    /// <summary>
    /// Starts a non-blocking connect(2). The stream is usable once it reports writable; then check
    /// <see cref="TakeError"/> (a refused connect shows as writable plus an error).
    /// </summary>
    /// <exception cref="SyscallException">The connect failed at once (not EINPROGRESS).</exception>
    public static TcpSocket Connect(IPEndPoint endPoint)
    {
        var fd = IpSocket.Open(endPoint, OsConstants.Current.SOCK_STREAM, out var addr, out var length);
        var errno = Libc.Connect(fd, addr, length);
        if (errno.Value != 0 && !errno.IsInProgress && !errno.IsInterrupted)
        {
            _ = Libc.Close(fd);
            throw new SyscallException("connect", errno);
        }

        return new TcpSocket(fd);
    }

    /// <summary>
    /// <see cref="Read(Span{byte}, out Errno)"/> on a socket fd held without a <see cref="TcpSocket"/> object:
    /// for a server whose idle connections should cost as few bytes as possible (the caller owns the fd
    /// and closes it with <see cref="Close(int)"/>).
    /// </summary>
    public static int Read(int fd, Span<byte> buffer, out Errno errno) => Libc.Read(fd, buffer, out errno);

    /// <summary><see cref="Write(ReadOnlySpan{byte}, out Errno)"/> on a socket fd held without a <see cref="TcpSocket"/> object.</summary>
    public static int Write(int fd, ReadOnlySpan<byte> buffer, out Errno errno) => Libc.Send(fd, buffer, out errno);

    /// <summary>Closes a socket fd held without a <see cref="TcpSocket"/> object (deregister it from its poller first).</summary>
    public static void Close(int fd) => _ = Libc.Close(fd);

    /// <summary><see cref="SetNoDelay(bool)"/> on a socket fd held without a <see cref="TcpSocket"/> object.</summary>
    public static Errno SetNoDelay(int fd, bool on) =>
        Libc.SetSocketOption(fd, OsConstants.Current.IPPROTO_TCP, OsConstants.Current.TCP_NODELAY, on ? 1 : 0);

    /// <summary>
    /// Sets SO_OOBINLINE on a stream socket fd: an urgent byte (MSG_OOB) stays in its place in the stream. A socket accepted
    /// from a TCP listener inherits it from <see cref="TcpListener.SetOobInline"/>; one accepted from a unix listener does not.
    /// </summary>
    public static Errno SetOobInline(int fd, bool on) =>
        Libc.SetSocketOption(fd, OsConstants.Current.SOL_SOCKET, OsConstants.Current.SO_OOBINLINE, on ? 1 : 0);

    /// <summary><see cref="RemoteEndPoint"/> of a socket fd held without a <see cref="TcpSocket"/> object.</summary>
    public static IPEndPoint? RemoteEndPointOf(int fd) => Libc.GetPeerName(fd, out var addr).Value == 0 ? addr.Decode() : null;

    /// <summary>Reads into <paramref name="buffer"/>.</summary>
    /// <returns>Bytes read; 0 when the peer has finished sending; -1 with <paramref name="errno"/> set.</returns>
    public int Read(Span<byte> buffer, out Errno errno) => Read(_fd, buffer, out errno);

    /// <summary>Writes from <paramref name="buffer"/>; a gone peer gives EPIPE, never SIGPIPE.</summary>
    /// <returns>Bytes the kernel took (possibly fewer than offered); -1 with <paramref name="errno"/> set.</returns>
    public int Write(ReadOnlySpan<byte> buffer, out Errno errno) => Write(_fd, buffer, out errno);

    /// <summary>shutdown(SHUT_WR): sends FIN after the queued bytes; reading stays possible.</summary>
    public Errno ShutdownWrite() => Libc.Shutdown(_fd, OsConstants.Current.SHUT_WR);

    /// <summary>Sets TCP_NODELAY (no Nagle delay for small writes).</summary>
    public Errno SetNoDelay(bool on) => SetNoDelay(_fd, on);

    /// <summary>Reads and clears the socket's pending error (SO_ERROR), e.g. after a non-blocking connect.</summary>
    public Errno TakeError()
    {
        var c = OsConstants.Current;
        var errno = Libc.GetSocketOption(_fd, c.SOL_SOCKET, c.SO_ERROR, out var value);
        return errno.Value != 0 ? errno : new Errno(value);
    }

    /// <summary>Makes the next close(2) send RST instead of FIN (SO_LINGER with a zero timeout).</summary>
    public Errno SetResetOnClose() => Libc.SetLingerZero(_fd);

    /// <summary>The remote address, or null if the socket is not connected.</summary>
    public IPEndPoint? RemoteEndPoint => RemoteEndPointOf(_fd);

    /// <summary>The local address, or null on error.</summary>
    public IPEndPoint? LocalEndPoint => Libc.GetSockName(_fd, out var addr).Value == 0 ? addr.Decode() : null;

    /// <summary>Closes the socket. Deregister it from its poller first.</summary>
    public void Dispose() => Libc.CloseOnce(ref _fd);
}
