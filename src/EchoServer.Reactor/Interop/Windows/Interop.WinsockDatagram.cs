using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>ws2_32.dll's datagram calls: recvfrom and sendto with the peer's address, and the UDP reset switch.</summary>
internal static unsafe partial class Ws2_32
{
    // int recvfrom(SOCKET s, char *buf, int len, int flags, struct sockaddr *from, int *fromlen);
    [LibraryImport(Name, EntryPoint = "recvfrom", SetLastError = true)]
    private static partial int recvfrom(nint s, byte* buffer, int length, int flags, SockAddr* from, int* fromLength);

    // int sendto(SOCKET s, const char *buf, int len, int flags, const struct sockaddr *to, int tolen);
    [LibraryImport(Name, EntryPoint = "sendto", SetLastError = true)]
    private static partial int sendto(nint s, byte* buffer, int length, int flags, SockAddr* to, int toLength);

    /// <summary>
    /// recvfrom of one datagram with its source. A datagram longer than <paramref name="buffer"/> fills it and is
    /// discarded, and Winsock reports WSAEMSGSIZE; that is returned as the truncated datagram (its buffer's length), as
    /// recvfrom(2) returns it on Unix. A 0-byte datagram returns 0.
    /// </summary>
    /// <returns>The datagram's length, or -1 with <paramref name="errno"/> (WSAEWOULDBLOCK when none is queued).</returns>
    internal static int ReceiveFrom(nint s, Span<byte> buffer, out SockAddr source, out uint sourceLength, out Errno errno)
    {
        source = default;
        byte empty = 0;
        fixed (byte* p = buffer)
        fixed (SockAddr* a = &source)
        {
            // An empty span pins as null; pass a valid pointer with length 0 instead.
            var length = sizeof(SockAddr);
            var n = recvfrom(s, buffer.IsEmpty ? &empty : p, buffer.Length, 0, a, &length);
            errno = n < 0 ? LastError : Errno.None;
            if (n < 0 && errno.Value == WinsockConstants.WSAEMSGSIZE)
            {
                (n, errno) = (buffer.Length, Errno.None);
            }

            sourceLength = n < 0 ? 0 : (uint)Math.Clamp(length, 0, sizeof(SockAddr));
            return n;
        }
    }

    /// <summary>sendto of one datagram to <paramref name="destination"/>.</summary>
    /// <returns>The bytes sent (the whole datagram), or -1 with <paramref name="errno"/> set.</returns>
    internal static int SendTo(nint s, ReadOnlySpan<byte> buffer, in SockAddr destination, uint destinationLength, out Errno errno)
    {
        byte empty = 0;
        fixed (byte* p = buffer)
        fixed (SockAddr* a = &destination)
        {
            var n = sendto(s, buffer.IsEmpty ? &empty : p, buffer.Length, 0, a, (int)destinationLength);
            errno = n < 0 ? LastError : Errno.None;
            return n;
        }
    }

    /// <summary>
    /// SIO_UDP_CONNRESET off: an ICMP port unreachable for a datagram sent is then not reported by the next recvfrom as
    /// WSAECONNRESET, as an unconnected UDP socket on Unix does not report it either.
    /// </summary>
    internal static Errno IgnoreUdpResets(nint s)
    {
        uint off = 0;
        uint returned = 0;
        return Check(WSAIoctl(s, WinsockConstants.SIO_UDP_CONNRESET, &off, sizeof(uint), null, 0, &returned, null, null));
    }
}
