using System.Diagnostics;
using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

[Collection(nameof(OpenFileLimit))] // OpenFileLimitTests lowers the limit for a moment
public class DescriptorHeadroomTests
{

    public DescriptorHeadroomTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "descriptor headroom is measured against RLIMIT_NOFILE, which Windows does not have");
    }
    [Fact]
    public void Limit_is_the_soft_open_file_limit_this_process_runs_under()
    {
        // A child shell inherits our limits, so its `ulimit -n` is ours, read by a second route.
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "ulimit -n"]) { RedirectStandardOutput = true })!;
        var output = shell.StandardOutput.ReadToEnd().Trim();
        shell.WaitForExit(10_000).Should().BeTrue();

        var expected = output == "unlimited" ? int.MaxValue : int.Parse(output, System.Globalization.CultureInfo.InvariantCulture);
        new DescriptorHeadroom().Limit.Should().Be(expected);
    }

    [Theory]
    [InlineData(64)]
    [InlineData(10)]
    [InlineData(0)]
    public void The_ceiling_sits_the_headroom_below_the_limit_and_the_headroom_is_at_most_a_quarter(int wanted)
    {
        var headroom = new DescriptorHeadroom(wanted);
        if (headroom.Limit == int.MaxValue)
        {
            headroom.Ceiling.Should().Be(int.MaxValue, "an unlimited table has no ceiling");
            return;
        }

        headroom.Headroom.Should().Be(Math.Min(wanted, headroom.Limit / 4));
        headroom.Ceiling.Should().Be(headroom.Limit - headroom.Headroom);
        headroom.IsInHeadroom(Source.FromFd(headroom.Ceiling - 1)).Should().BeFalse();
        headroom.IsInHeadroom(Source.FromFd(headroom.Ceiling)).Should().BeTrue("the ceiling is the first descriptor inside the headroom");
    }

    [Fact]
    public void A_process_far_from_its_limit_has_room_and_the_probe_leaves_no_descriptor_behind()
    {
        var headroom = new DescriptorHeadroom();
        var before = Loopback.OpenFdCount();

        headroom.HasRoom().Should().BeTrue("the test process is nowhere near its limit");

        // Other test threads may open or close descriptors meanwhile; a leak per probe would show over many.
        for (var i = 0; i < 500; i++)
        {
            headroom.HasRoom();
        }

        Loopback.OpenFdCount().Should().BeLessThan(before + 100, "each probe closes the descriptor it opened");
    }
}
