using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static unsafe partial class Libc
{
    // ssize_t recvfrom(int sockfd, void *buf, size_t len, int flags,
    //                  struct sockaddr *src_addr, socklen_t *addrlen);              recvfrom(2)
    [LibraryImport(Name, EntryPoint = "recvfrom")]
    private static partial nint recvfrom(int fd, byte* buf, nuint len, int flags, SockAddr* srcAddr, uint* addrLen);

    // ssize_t sendto(int sockfd, const void *buf, size_t len, int flags,
    //                const struct sockaddr *dest_addr, socklen_t addrlen);          sendto(2)
    [LibraryImport(Name, EntryPoint = "sendto")]
    private static partial nint sendto(int fd, byte* buf, nuint len, int flags, SockAddr* destAddr, uint addrLen);

    /// <summary>recvfrom(2) of one datagram with its source address, retried on EINTR.</summary>
    /// <remarks>
    /// A datagram longer than <paramref name="buffer"/> is truncated to it (the rest is discarded by
    /// the kernel). A 0-byte datagram returns 0, which for UDP is a datagram, not an end of stream.
    /// </remarks>
    /// <returns>The datagram's length, or -1 with <paramref name="errno"/> set.</returns>
    internal static int ReceiveFrom(int fd, Span<byte> buffer, out SockAddr source, out uint sourceLength, out Errno errno)
    {
        source = default;
        byte empty = 0;
        fixed (byte* p = buffer)
        fixed (SockAddr* a = &source)
        {
            // An empty span pins as null; pass a valid pointer with length 0 instead.
            var data = buffer.IsEmpty ? &empty : p;
            int result;
            uint length;
            do
            {
                length = (uint)sizeof(SockAddr);
            }
            while (!Completed(recvfrom(fd, data, (nuint)buffer.Length, 0, a, &length), out result, out errno));

            sourceLength = result < 0 ? 0 : Math.Min(length, (uint)sizeof(SockAddr));
            return result;
        }
    }

    /// <summary>sendto(2) of one datagram, retried on EINTR. No MSG_NOSIGNAL: SIGPIPE is a stream-socket matter.</summary>
    /// <returns>The bytes sent (the whole datagram), or -1 with <paramref name="errno"/> set.</returns>
    internal static int SendTo(int fd, ReadOnlySpan<byte> buffer, in SockAddr destination, uint destinationLength, out Errno errno)
    {
        fixed (SockAddr* a = &destination)
        {
            return SendTo(fd, buffer, a, destinationLength, out errno);
        }
    }

    /// <summary>sendto(2) to a unix-domain address (a path or an abstract name), retried on EINTR.</summary>
    /// <returns>The bytes sent, or -1 with <paramref name="errno"/> set.</returns>
    internal static int SendTo(int fd, ReadOnlySpan<byte> buffer, in SockAddrUn destination, uint destinationLength, out Errno errno)
    {
        // The kernel reads destinationLength bytes of whatever sockaddr the pointer holds.
        fixed (SockAddrUn* a = &destination)
        {
            return SendTo(fd, buffer, (SockAddr*)a, destinationLength, out errno);
        }
    }

    private static int SendTo(int fd, ReadOnlySpan<byte> buffer, SockAddr* destination, uint destinationLength, out Errno errno)
    {
        byte empty = 0;
        fixed (byte* p = buffer)
        {
            var data = buffer.IsEmpty ? &empty : p;
            int result;
            while (!Completed(sendto(fd, data, (nuint)buffer.Length, 0, destination, destinationLength), out result, out errno))
            {
            }

            return result;
        }
    }
}

/// <summary>
/// Allocation-free reads of a <see cref="SockAddr"/> the kernel filled in (family and port are its own): equality
/// and hashing over the bytes that identify an address (family, port, IP and, for IPv6, the scope id;
/// never the padding or the IPv6 flow label).
/// </summary>
internal static class SockAddrOps
{
    /// <summary>A copy with the port set to 0: the key of "the same host".</summary>
    public static SockAddr WithoutPort(in SockAddr addr)
    {
        var copy = addr;
        copy.V4.PortBigEndian = 0;
        return copy;
    }

    public static bool Equal(in SockAddr a, in SockAddr b)
    {
        var fa = a.Family;
        if (fa != b.Family || a.V4.PortBigEndian != b.V4.PortBigEndian)
        {
            return false;
        }

        if (fa == OsConstants.Current.AF_INET)
        {
            return a.V4.Address == b.V4.Address;
        }

        if (fa == OsConstants.Current.AF_INET6)
        {
            return a.V6.ScopeId == b.V6.ScopeId && V6Bytes(a).SequenceEqual(V6Bytes(b));
        }

        // A family this library does not decode: compare everything it could have written.
        return Whole(a).SequenceEqual(Whole(b));
    }

    public static int Hash(in SockAddr addr)
    {
        var family = addr.Family;
        if (family == OsConstants.Current.AF_INET)
        {
            return HashCode.Combine(family, addr.V4.PortBigEndian, addr.V4.Address);
        }

        var hash = default(HashCode);
        hash.Add(family);
        hash.Add(addr.V4.PortBigEndian);
        if (family == OsConstants.Current.AF_INET6)
        {
            hash.AddBytes(V6Bytes(addr));
            hash.Add(addr.V6.ScopeId);
        }
        else
        {
            hash.AddBytes(Whole(addr));
        }

        return hash.ToHashCode();
    }

    // sin6_addr follows sin6_family/sin6_len (2), sin6_port (2) and sin6_flowinfo (4).
    private static ReadOnlySpan<byte> V6Bytes(in SockAddr addr) => Whole(addr).Slice(8, 16);

    private static ReadOnlySpan<byte> Whole(in SockAddr addr) =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<SockAddr>(in addr));
}
