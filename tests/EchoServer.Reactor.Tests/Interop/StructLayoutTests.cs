using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Interop;

/// <summary>
/// Sizes and offsets of the C struct mirrors, checked on every OS that runs the tests (the values are
/// the 64-bit ABI, rust libc: <c>bsd/apple/mod.rs</c> struct kevent, <c>freebsd12/mod.rs</c> struct
/// kevent, <c>unix/mod.rs</c> timespec, <c>linux_like/mod.rs</c> and <c>bsd/apple/mod.rs</c> sockaddr_in(6)).
/// The epoll_event layouts are covered with the epoll tests.
/// </summary>
public class StructLayoutTests
{
    public static TheoryData<string, string, int> FieldOffsets() => new()
    {
        { nameof(KEventDarwin), nameof(KEventDarwin.Ident), 0 },
        { nameof(KEventDarwin), nameof(KEventDarwin.Filter), 8 },
        { nameof(KEventDarwin), nameof(KEventDarwin.Flags), 10 },
        { nameof(KEventDarwin), nameof(KEventDarwin.FFlags), 12 },
        { nameof(KEventDarwin), nameof(KEventDarwin.Data), 16 },
        { nameof(KEventDarwin), nameof(KEventDarwin.UData), 24 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.Ident), 0 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.Filter), 8 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.Flags), 10 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.FFlags), 12 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.Data), 16 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.UData), 24 },
        { nameof(KEventFreeBsd), nameof(KEventFreeBsd.Ext), 32 },
        { nameof(Timespec), nameof(Timespec.Seconds), 0 },
        { nameof(Timespec), nameof(Timespec.Nanoseconds), 8 },
        { nameof(SockAddrIn), nameof(SockAddrIn.FamilyField), 0 },
        { nameof(SockAddrIn), nameof(SockAddrIn.PortBigEndian), 2 },
        { nameof(SockAddrIn), nameof(SockAddrIn.Address), 4 },
        { nameof(SockAddrIn), nameof(SockAddrIn.Zero), 8 },
        { nameof(SockAddrIn6), nameof(SockAddrIn6.FamilyField), 0 },
        { nameof(SockAddrIn6), nameof(SockAddrIn6.PortBigEndian), 2 },
        { nameof(SockAddrIn6), nameof(SockAddrIn6.FlowInfo), 4 },
        { nameof(SockAddrIn6), nameof(SockAddrIn6.Address), 8 },
        { nameof(SockAddrIn6), nameof(SockAddrIn6.ScopeId), 24 },
        { nameof(RLimit), nameof(RLimit.Current), 0 },
        { nameof(RLimit), nameof(RLimit.Maximum), 8 },
    };

    public static TheoryData<string, int> Sizes() => new()
    {
        { nameof(KEventDarwin), 32 },
        { nameof(KEventFreeBsd), 64 },
        { nameof(Timespec), 16 },
        { nameof(SockAddrIn), 16 },
        { nameof(SockAddrIn6), 28 },
        { nameof(SockAddr), 28 },
        { nameof(RLimit), 16 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Struct_has_the_size_of_the_c_struct(string type, int size)
    {
        // Both the managed size (what pointer arithmetic over a native buffer uses) and the marshalled size.
        var t = TypeOf(type);
        SizeOf(t).Should().Be(size, $"sizeof({type})");
        Marshal.SizeOf(t).Should().Be(size, $"Marshal.SizeOf({type})");
    }

    [Theory]
    [MemberData(nameof(FieldOffsets))]
    public void Field_has_the_offset_of_the_c_struct(string type, string field, int offset)
    {
        Marshal.OffsetOf(TypeOf(type), field).ToInt32().Should().Be(offset, $"offsetof({type}, {field})");
    }

    [Fact]
    public void Kevent_sizes_match_the_kqueue_tables()
    {
        KqueueConstants.MacOS.KEventSize.Should().Be(Unsafe.SizeOf<KEventDarwin>());
        KqueueConstants.FreeBSD.KEventSize.Should().Be(Unsafe.SizeOf<KEventFreeBsd>());
        KqueueConstants.Libkqueue.KEventSize.Should().Be(Unsafe.SizeOf<KEventDarwin>(), "libkqueue on 64-bit Linux declares macOS's struct");
    }

    [Fact]
    public void Kevent_managed_offsets_agree_with_the_marshalled_ones()
    {
        // The poller reads the kernel's buffer by pointer, i.e. by managed layout; check it too.
        var d = default(KEventDarwin);
        Offset(ref d, ref d.Filter).Should().Be(8);
        Offset(ref d, ref d.Data).Should().Be(16);
        Offset(ref d, ref d.UData).Should().Be(24);

        var f = default(KEventFreeBsd);
        Offset(ref f, ref f.Filter).Should().Be(8);
        Offset(ref f, ref f.Data).Should().Be(16);
        Offset(ref f, ref f.UData).Should().Be(24);
    }

    [Fact]
    public void Kevent_create_fills_ident_filter_flags_fflags_and_udata()
    {
        const ulong udata = 0x8000_0000_0000_0042;
        var d = KEventDarwin.Create(7, -2, 0x61, 0x01000000, udata);
        d.Ident.Should().Be(7);
        d.Filter.Should().Be(-2);
        d.Flags.Should().Be(0x61);
        d.FFlags.Should().Be(0x01000000);
        ((ulong)d.UData).Should().Be(udata);

        var f = KEventFreeBsd.Create(7, -11, 0x61, 0x01000000, udata);
        f.Filter.Should().Be(-11);
        ((ulong)f.UData).Should().Be(udata);
    }

    [Theory]
    [InlineData(0, 0, 0)]
    [InlineData(1, 0, 1_000_000)]
    [InlineData(999, 0, 999_000_000)]
    [InlineData(1000, 1, 0)]
    [InlineData(int.MaxValue, 2_147_483, 647_000_000)]
    public void Timespec_from_milliseconds_splits_seconds_and_nanoseconds(int ms, long seconds, long nanoseconds)
    {
        var ts = Timespec.FromMilliseconds(ms);
        ts.Seconds.Should().Be(seconds);
        ts.Nanoseconds.Should().Be(nanoseconds);
    }

    public static TheoryData<string, byte[]> SockAddrV4Forms() => new()
    {
        // 127.0.0.1:9000 (0x2328). Linux: u16 family (2, little-endian); BSD: sin_len 16, sin_family 2.
        { nameof(OsFamily.Linux), [0x02, 0x00, 0x23, 0x28, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] },
        { nameof(OsFamily.MacOS), [16, 2, 0x23, 0x28, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] },
        { nameof(OsFamily.FreeBSD), [16, 2, 0x23, 0x28, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] },
    };

    [Theory]
    [MemberData(nameof(SockAddrV4Forms))]
    public void SockAddr_encodes_ipv4_in_the_os_form(string osName, byte[] expected)
    {
        var os = Enum.Parse<OsFamily>(osName);
        var length = SockAddr.Encode(new IPEndPoint(IPAddress.Loopback, 9000), out var addr, Table(os));
        length.Should().Be(16);
        Bytes(ref addr, 16).Should().Equal(expected);
        addr.Decode(Table(os)).Should().Be(new IPEndPoint(IPAddress.Loopback, 9000));
    }

    [Theory]
    [InlineData(nameof(OsFamily.Linux), 0x0a, 0x00)]
    [InlineData(nameof(OsFamily.MacOS), 28, 30)]
    [InlineData(nameof(OsFamily.FreeBSD), 28, 28)]
    public void SockAddr_encodes_ipv6_in_the_os_form(string osName, byte first, byte second)
    {
        var os = Enum.Parse<OsFamily>(osName);
        var endPoint = new IPEndPoint(IPAddress.IPv6Loopback, 9000);
        var length = SockAddr.Encode(endPoint, out var addr, Table(os));
        length.Should().Be(28);
        var bytes = Bytes(ref addr, 28);
        bytes[0].Should().Be(first, "Linux: low byte of sin6_family; BSD: sin6_len");
        bytes[1].Should().Be(second, "Linux: high byte of sin6_family; BSD: sin6_family");
        bytes[2..4].Should().Equal(0x23, 0x28);
        bytes[8..24].Should().Equal(IPAddress.IPv6Loopback.GetAddressBytes());
        addr.Decode(Table(os)).Should().Be(endPoint);
    }

    [Fact]
    public void SockAddr_default_encoding_uses_the_running_os()
    {
        SockAddr.Encode(new IPEndPoint(IPAddress.Loopback, 1), out var current);
        SockAddr.Encode(new IPEndPoint(IPAddress.Loopback, 1), out var explicitTable, OsConstants.Current);
        Bytes(ref current, 16).Should().Equal(Bytes(ref explicitTable, 16));
    }

    private static OsConstants Table(OsFamily os) => os switch
    {
        OsFamily.Linux => OsConstants.Linux,
        OsFamily.MacOS => OsConstants.MacOS,
        _ => OsConstants.FreeBSD,
    };

    private static byte[] Bytes(ref SockAddr addr, int length) =>
        MemoryMarshal.AsBytes(new Span<SockAddr>(ref addr))[..length].ToArray();

    private static long Offset<TStruct, TField>(ref TStruct s, ref TField field) =>
        Unsafe.ByteOffset(ref Unsafe.As<TStruct, byte>(ref s), ref Unsafe.As<TField, byte>(ref field));

    private static Type TypeOf(string name) =>
        typeof(SockAddr).Assembly.GetType($"EchoServer.Reactor.Interop.{name}", throwOnError: true)!;

    private static int SizeOf(Type t) =>
        (int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!;
}
