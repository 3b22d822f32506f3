using System.Net;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// The Windows side of <see cref="StreamSocket"/> and <see cref="TcpListener"/>: Winsock's connect, accept, recv and send,
/// each telling the AFD poller when it hits would-block (and, for send, a short write), which is how an edge is re-armed on
/// Windows (docs/design.md, "The Windows backend").
/// </summary>
internal static class WinsockStreams
{
    public static StreamSocket Connect(IPEndPoint endPoint)
    {
        var s = IpSocket.OpenWinsock(endPoint, OsConstants.Current.SOCK_STREAM);
        var errno = Ws2_32.Connect(s, endPoint);
        if (errno.Value != 0 && !errno.IsWouldBlock && !errno.IsInProgress)
        {
            _ = Ws2_32.CloseSocket(s);
            throw new SyscallException("connect", errno);
        }

        return new StreamSocket(new Source(s));
    }

    /// <summary>
    /// Binds and listens. No SO_REUSEADDR: on Windows it would let another socket bind the same port, not just pass
    /// TIME_WAIT; and Windows has no SO_REUSEPORT.
    /// </summary>
    public static nint Listen(IPEndPoint endPoint, int backlog, bool reusePort, out IPEndPoint bound)
    {
        if (reusePort)
        {
            throw new PlatformNotSupportedException("SO_REUSEPORT does not exist on Windows.");
        }

        var s = IpSocket.BindWinsock(endPoint, OsConstants.Current.SOCK_STREAM, out bound);
        try
        {
            SyscallException.ThrowIfError("listen", Ws2_32.Listen(s, backlog < 0 ? OsConstants.Current.SOMAXCONN : backlog));
            return s;
        }
        catch
        {
            _ = Ws2_32.CloseSocket(s);
            throw;
        }
    }

    public static bool Accept(nint listener, out StreamSocket socket, out Errno errno)
    {
        var s = Ws2_32.Accept(listener, out errno);
        if (s == WinsockConstants.INVALID_SOCKET)
        {
            if (errno.IsWouldBlock)
            {
                AfdPoller.RearmAfterWouldBlock(listener, Interest.Readable);
            }

            socket = default;
            return false;
        }

        socket = new StreamSocket(new Source(s));
        return true;
    }

    // A short read re-arms too: it means the receive queue was empty, and an owner may take it so and wait for the next
    // edge without the read that would return would-block (netty's edge-triggered transport does, and so does the echo server).
    public static int Read(nint s, Span<byte> buffer, out Errno errno)
    {
        var n = Ws2_32.Receive(s, buffer, out errno);
        if ((n < 0 && errno.IsWouldBlock) || (n > 0 && n < buffer.Length))
        {
            AfdPoller.RearmAfterWouldBlock(s, Interest.Readable);
        }

        return n;
    }

    // A short write re-arms too: an owner keeps the tail and waits for writability without writing again.
    public static int Write(nint s, ReadOnlySpan<byte> buffer, out Errno errno)
    {
        var n = Ws2_32.Send(s, buffer, out errno);
        if ((n < 0 && errno.IsWouldBlock) || (n >= 0 && n < buffer.Length))
        {
            AfdPoller.RearmAfterWouldBlock(s, Interest.Writable);
        }

        return n;
    }
}
