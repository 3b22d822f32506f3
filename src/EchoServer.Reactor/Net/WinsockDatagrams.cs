using System.Net;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// The Windows side of <see cref="UdpSocket"/>: Winsock's bind, recvfrom and sendto, each telling the AFD poller when it hits
/// would-block, which re-arms the edge it had consumed (docs/design.md, "The Windows backend"). Unlike a stream's short read,
/// a datagram shorter than the buffer says nothing of what else is queued, so only would-block re-arms a read.
/// </summary>
internal static class WinsockDatagrams
{
    public static nint Bind(IPEndPoint endPoint, out IPEndPoint bound)
    {
        var s = IpSocket.BindWinsock(endPoint, OsConstants.Current.SOCK_DGRAM, out bound);
        var errno = Ws2_32.IgnoreUdpResets(s);
        if (errno.Value != 0)
        {
            _ = Ws2_32.CloseSocket(s);
            throw new SyscallException("WSAIoctl(SIO_UDP_CONNRESET)", errno);
        }

        return s;
    }

    public static int ReceiveFrom(nint s, Span<byte> buffer, out SockAddr source, out uint sourceLength, out Errno errno)
    {
        var n = Ws2_32.ReceiveFrom(s, buffer, out source, out sourceLength, out errno);
        if (n < 0 && errno.IsWouldBlock)
        {
            AfdPoller.RearmAfterWouldBlock(s, Interest.Readable);
        }

        return n;
    }

    public static int SendTo(nint s, ReadOnlySpan<byte> buffer, in SockAddr destination, uint destinationLength, out Errno errno)
    {
        var n = Ws2_32.SendTo(s, buffer, destination, destinationLength, out errno);
        if (n < 0 && errno.IsWouldBlock)
        {
            AfdPoller.RearmAfterWouldBlock(s, Interest.Writable);
        }

        return n;
    }
}
