using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Interop;

/// <summary>
/// Sizes and offsets of the Windows struct mirrors (Interop/Windows), as 64-bit Windows lays them out: the SDK headers
/// (wdm.h IO_STATUS_BLOCK, ntdef.h UNICODE_STRING/OBJECT_ATTRIBUTES, minwinbase.h OVERLAPPED_ENTRY, winsock2.h WSADATA, mstcpip.h tcp_keepalive) and,
/// for the undocumented AFD structs, mio's <c>src/sys/windows/afd.rs</c> and wepoll's <c>afd.h</c>. The layout rules are
/// the same on every 64-bit OS, so this runs on Linux as well as on Windows.
/// </summary>
public class WindowsStructLayoutTests
{
    public static TheoryData<string, int> Sizes() => new()
    {
        { nameof(IoStatusBlock), 16 },
        { nameof(AfdPollHandleInfo), 16 },
        { nameof(AfdPollInfo), 32 },
        { nameof(UnicodeString), 16 },
        { nameof(ObjectAttributes), 48 },
        { nameof(OverlappedEntry), 32 },
        { nameof(WsaData), 408 },
        { nameof(TcpKeepAlive), 12 },
    };

    public static TheoryData<string, string, int> FieldOffsets() => new()
    {
        { nameof(IoStatusBlock), nameof(IoStatusBlock.Information), 8 },
        { nameof(AfdPollHandleInfo), nameof(AfdPollHandleInfo.Events), 8 },
        { nameof(AfdPollHandleInfo), nameof(AfdPollHandleInfo.Status), 12 },
        { nameof(AfdPollInfo), nameof(AfdPollInfo.NumberOfHandles), 8 },
        { nameof(AfdPollInfo), nameof(AfdPollInfo.Exclusive), 12 },
        { nameof(AfdPollInfo), nameof(AfdPollInfo.Handle0), 16 },
        { nameof(UnicodeString), nameof(UnicodeString.MaximumLength), 2 },
        { nameof(UnicodeString), nameof(UnicodeString.Buffer), 8 },
        { nameof(ObjectAttributes), nameof(ObjectAttributes.RootDirectory), 8 },
        { nameof(ObjectAttributes), nameof(ObjectAttributes.ObjectName), 16 },
        { nameof(ObjectAttributes), nameof(ObjectAttributes.Attributes), 24 },
        { nameof(ObjectAttributes), nameof(ObjectAttributes.SecurityDescriptor), 32 },
        { nameof(ObjectAttributes), nameof(ObjectAttributes.SecurityQualityOfService), 40 },
        { nameof(OverlappedEntry), nameof(OverlappedEntry.Overlapped), 8 },
        { nameof(OverlappedEntry), nameof(OverlappedEntry.Internal), 16 },
        { nameof(OverlappedEntry), nameof(OverlappedEntry.NumberOfBytesTransferred), 24 },
        { nameof(WsaData), nameof(WsaData.VendorInfo), 8 },
        { nameof(WsaData), nameof(WsaData.Description), 16 },
        { nameof(WsaData), nameof(WsaData.SystemStatus), 273 },
        { nameof(TcpKeepAlive), nameof(TcpKeepAlive.KeepAliveTime), 4 },
        { nameof(TcpKeepAlive), nameof(TcpKeepAlive.KeepAliveInterval), 8 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Struct_has_the_size_of_the_c_struct(string type, int size)
    {
        Assert.SkipUnless(IntPtr.Size == 8, "the sizes are those of 64-bit Windows");
        var t = TypeOf(type);
        ((int)typeof(Unsafe).GetMethod(nameof(Unsafe.SizeOf))!.MakeGenericMethod(t).Invoke(null, null)!).Should().Be(size, $"sizeof({type})");
        Marshal.SizeOf(t).Should().Be(size, $"Marshal.SizeOf({type})");
    }

    [Theory]
    [MemberData(nameof(FieldOffsets))]
    public void Field_has_the_offset_of_the_c_struct(string type, string field, int offset)
    {
        Assert.SkipUnless(IntPtr.Size == 8, "the offsets are those of 64-bit Windows");
        Marshal.OffsetOf(TypeOf(type), field).ToInt32().Should().Be(offset, $"offsetof({type}, {field})");
    }

    [Fact]
    public void A_poll_operation_is_the_status_block_then_the_poll_info()
    {
        // The kernel writes both; the operation's address is also the completion's OVERLAPPED pointer.
        Marshal.OffsetOf<AfdPollOperation>(nameof(AfdPollOperation.Info)).ToInt32().Should().Be(Unsafe.SizeOf<IoStatusBlock>());
    }

    private static Type TypeOf(string name) =>
        typeof(IoStatusBlock).Assembly.GetType("EchoServer.Reactor.Interop." + name, throwOnError: true)!;
}
