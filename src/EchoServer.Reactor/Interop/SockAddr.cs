using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>struct sockaddr_in</c> (16 bytes):
/// Linux <c>{ sa_family_t sin_family; in_port_t sin_port; struct in_addr sin_addr; unsigned char sin_zero[8]; }</c>
/// with a 16-bit family; BSD/macOS <c>{ uint8_t sin_len; sa_family_t sin_family; ... }</c> with two 8-bit fields
/// in the same two bytes. <see cref="FamilyField"/> holds either form.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct SockAddrIn
{
    public ushort FamilyField;
    public ushort PortBigEndian;
    public uint Address;
    public ulong Zero;
}

/// <summary>
/// Mirrors <c>struct sockaddr_in6</c> (28 bytes):
/// <c>{ sa_family_t sin6_family; in_port_t sin6_port; uint32_t sin6_flowinfo; struct in6_addr sin6_addr; uint32_t sin6_scope_id; }</c>
/// (BSD again splits the first two bytes into <c>sin6_len</c> and <c>sin6_family</c>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockAddrIn6
{
    public ushort FamilyField;
    public ushort PortBigEndian;
    public uint FlowInfo;
    public fixed byte Address[16];
    public uint ScopeId;
}

/// <summary>Room for either address family, as the kernel writes it in accept(2) and getsockname(2).</summary>
[StructLayout(LayoutKind.Explicit, Size = 28)]
internal unsafe struct SockAddr
{
    [FieldOffset(0)]
    public SockAddrIn V4;

    [FieldOffset(0)]
    public SockAddrIn6 V6;

    public static uint SizeV4 => (uint)sizeof(SockAddrIn);

    public static uint SizeV6 => (uint)sizeof(SockAddrIn6);

    /// <summary>The running OS's AF_INET or AF_INET6 for <paramref name="endPoint"/>, for socket(2).</summary>
    public static int FamilyOf(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? OsConstants.Current.AF_INET6 : OsConstants.Current.AF_INET;

    /// <summary>Encodes an endpoint for bind(2)/connect(2).</summary>
    /// <returns>The length to pass as <c>socklen_t</c>.</returns>
    public static uint Encode(IPEndPoint endPoint, out SockAddr addr) => Encode(endPoint, out addr, OsConstants.Current);

    /// <summary>Encodes an endpoint as the OS of <paramref name="c"/> lays it out (tests encode for every OS).</summary>
    /// <returns>The length to pass as <c>socklen_t</c>.</returns>
    internal static uint Encode(IPEndPoint endPoint, out SockAddr addr, OsConstants c)
    {
        addr = default;
        var port = BinaryPrimitives.ReverseEndianness((ushort)endPoint.Port);
        if (!BitConverter.IsLittleEndian)
        {
            port = (ushort)endPoint.Port;
        }

        if (endPoint.AddressFamily == AddressFamily.InterNetwork)
        {
            addr.V4.FamilyField = FamilyField(c, c.AF_INET, SizeV4);
            addr.V4.PortBigEndian = port;
            Span<byte> bytes = stackalloc byte[4];
            endPoint.Address.TryWriteBytes(bytes, out _);
            addr.V4.Address = MemoryMarshal.Read<uint>(bytes);
            return SizeV4;
        }

        addr.V6.FamilyField = FamilyField(c, c.AF_INET6, SizeV6);
        addr.V6.PortBigEndian = port;
        fixed (byte* a = addr.V6.Address)
        {
            endPoint.Address.TryWriteBytes(new Span<byte>(a, 16), out _);
        }

        addr.V6.ScopeId = (uint)endPoint.Address.ScopeId;
        return SizeV6;
    }

    /// <summary>Decodes what the kernel wrote; null for a family this library does not speak.</summary>
    public readonly IPEndPoint? Decode() => Decode(OsConstants.Current);

    /// <summary>The address family as the running OS numbers it (AF_INET, AF_INET6, AF_UNIX, …).</summary>
    public readonly int Family => FamilyIn(OsConstants.Current);

    /// <summary>The port in host byte order (sin_port and sin6_port share an offset).</summary>
    public readonly int Port =>
        BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(V4.PortBigEndian) : V4.PortBigEndian;

    /// <summary>The family as the OS of <paramref name="c"/> lays out the first two bytes (see <see cref="FamilyField"/>).</summary>
    internal readonly int FamilyIn(OsConstants c) =>
        !IsBsd(c) ? V4.FamilyField : BitConverter.IsLittleEndian ? V4.FamilyField >> 8 : V4.FamilyField & 0xff;

    /// <summary>Decodes as the OS of <paramref name="c"/> lays it out.</summary>
    internal readonly IPEndPoint? Decode(OsConstants c)
    {
        var family = FamilyIn(c);
        var port = Port;
        if (family == c.AF_INET)
        {
            Span<byte> bytes = stackalloc byte[4];
            MemoryMarshal.Write(bytes, in V4.Address);
            return new IPEndPoint(new IPAddress(bytes), port);
        }

        if (family == c.AF_INET6)
        {
            var copy = V6;
            var address = new IPAddress(new ReadOnlySpan<byte>(copy.Address, 16), copy.ScopeId);
            return new IPEndPoint(address, port);
        }

        return null;
    }

    private static bool IsBsd(OsConstants c) => c.Os is OsFamily.MacOS or OsFamily.FreeBSD;

    /// <summary>
    /// The first two bytes of any sockaddr (IP or unix) as one ushort: Linux, a 16-bit sa_family_t; BSD,
    /// sin_len then an 8-bit sa_family_t (read as one little-endian ushort). mio sets sin_len to 0 and relies
    /// on the length argument; we fill it in because it costs nothing and some BSD code paths do read it.
    /// </summary>
    internal static ushort FamilyField(OsConstants c, int family, uint length) =>
        IsBsd(c) ? (ushort)(length | ((uint)family << 8)) : (ushort)family;
}
