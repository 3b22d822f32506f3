using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// <c>struct epoll_event</c> as the kernel lays it out: packed on x86-64 (12 bytes, data at 4),
/// naturally aligned on arm64 (16 bytes, data at 8). A wrong size makes epoll_wait write events
/// the loop then reads at the wrong offsets.
/// </summary>
public sealed class EpollEventLayoutTests
{
    [Fact]
    public void The_packed_mirror_is_12_bytes_with_data_at_4()
    {
        Unsafe.SizeOf<EpollEventPacked>().Should().Be(12);
        Marshal.SizeOf<EpollEventPacked>().Should().Be(12);
        Marshal.OffsetOf<EpollEventPacked>(nameof(EpollEventPacked.Events)).ToInt32().Should().Be(0);
        Marshal.OffsetOf<EpollEventPacked>(nameof(EpollEventPacked.Data)).ToInt32().Should().Be(4);
    }

    [Fact]
    public void The_aligned_mirror_is_16_bytes_with_data_at_8_on_64_bit()
    {
        Environment.Is64BitProcess.Should().BeTrue("the library targets 64-bit Linux and macOS only");
        Unsafe.SizeOf<EpollEventAligned>().Should().Be(16);
        Marshal.SizeOf<EpollEventAligned>().Should().Be(16);
        Marshal.OffsetOf<EpollEventAligned>(nameof(EpollEventAligned.Events)).ToInt32().Should().Be(0);
        Marshal.OffsetOf<EpollEventAligned>(nameof(EpollEventAligned.Data)).ToInt32().Should().Be(8);
    }

    [Fact]
    public void The_layout_in_use_matches_the_running_architecture()
    {
        var (packed, size, dataOffset) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (true, 12, 4),
            Architecture.Arm64 => (false, 16, 8),
            var other => throw new PlatformNotSupportedException($"No expected epoll_event layout for {other}; add it here."),
        };

        EpollConstants.IsPacked.Should().Be(packed);
        EpollConstants.EventSize.Should().Be(size);
        var inUse = packed
            ? Marshal.OffsetOf<EpollEventPacked>(nameof(EpollEventPacked.Data))
            : Marshal.OffsetOf<EpollEventAligned>(nameof(EpollEventAligned.Data));
        inUse.ToInt32().Should().Be(dataOffset);
    }
}
