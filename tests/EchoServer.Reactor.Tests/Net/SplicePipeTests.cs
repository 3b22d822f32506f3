using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

/// <summary>SplicePipe: bytes go socket → pipe → socket inside the kernel, and the pipe knows how many it holds.</summary>
public sealed class SplicePipeTests
{
    [Fact]
    public void Bytes_spliced_in_from_a_socket_go_back_out_to_it_unchanged()
    {
        SkipUnlessSplice();
        using var pair = TcpPair.Open();
        using var pipe = SplicePipe.TryCreate(256 * 1024, null, out var errno)!;
        pipe.Should().NotBeNull(errno.ToString());
        var data = new byte[40_000];
        new Random(3).NextBytes(data);
        Loopback.WriteAll(pair.Peer, data);

        var n = 0;
        Wait.Until(() => (n += Math.Max(0, pipe.FillFrom(pair.Accepted, 1 << 20, out _))) >= data.Length, Patience.Short, "every byte written is spliced into the pipe", () => $"{n} of {data.Length}");
        n.Should().Be(data.Length);
        pipe.Count.Should().Be(data.Length);

        pipe.DrainTo(pair.Accepted, out errno).Should().Be(data.Length);
        errno.Value.Should().Be(0);
        pipe.Count.Should().Be(0);

        var back = new List<byte>();
        Wait.Until(
            () =>
            {
                back.AddRange(Loopback.ReadUntilWouldBlock(pair.Peer, out _));
                return back.Count >= data.Length;
            },
            Patience.Short,
            "every spliced byte is back at the peer",
            () => $"{back.Count} of {data.Length}");
        back.Should().Equal(data);
    }

    [Fact]
    public void A_socket_that_refuses_leaves_the_rest_counted_in_the_pipe_and_copy_out_returns_it_in_order()
    {
        SkipUnlessSplice();
        using var pair = TcpPair.Open();
        using var source = TcpPair.Open();
        using var pipe = SplicePipe.TryCreate(1024 * 1024, null, out _)!;

        // Fill the pair's send path (the peer never reads) so the pipe cannot be emptied into it.
        var filler = new byte[64 * 1024];
        while (pair.Accepted.Write(filler, out _) > 0)
        {
        }

        var data = new byte[100_000];
        new Random(5).NextBytes(data);
        Loopback.WriteAll(source.Peer, data);
        var n = 0;
        Wait.Until(() => (n += Math.Max(0, pipe.FillFrom(source.Accepted, data.Length - n, out _))) >= data.Length, Patience.Short, "every byte written is spliced into the pipe", () => $"{n} of {data.Length}");
        pipe.Count.Should().Be(data.Length);

        pipe.DrainTo(pair.Accepted, out var errno).Should().Be(0);
        errno.IsWouldBlock.Should().BeTrue(errno.ToString());
        pipe.Count.Should().Be(data.Length, "nothing went out, so everything is still owed");

        var copy = new byte[data.Length];
        var got = 0;
        while (pipe.Count > 0)
        {
            got += pipe.CopyOut(copy.AsSpan(got), out _);
        }

        copy.Should().Equal(data);
    }

    [Fact]
    public void End_of_stream_splices_zero_bytes()
    {
        SkipUnlessSplice();
        using var pair = TcpPair.Open();
        using var pipe = SplicePipe.TryCreate(64 * 1024, null, out _)!;
        pair.Peer.ShutdownWrite().Value.Should().Be(0);

        var n = -1;
        Wait.Until(() => (n = pipe.FillFrom(pair.Accepted, 4096, out _)) >= 0, Patience.Short, "the splice sees the peer's end of stream");
        n.Should().Be(0);
    }

    [Fact]
    public void A_pipe_costs_two_descriptors_and_dispose_closes_both()
    {
        // Looks at the pipe's own two descriptors in /proc/self/fd, not at the process's fd count, which
        // tests running in parallel change at any moment.
        SkipUnlessSplice();
        var pipe = SplicePipe.TryCreate(64 * 1024, new DescriptorHeadroom(), out _)!;
        int[] ends = [pipe.ReadFd, pipe.WriteFd];
        var pipeName = LinkOf(ends[0]);
        pipeName.Should().StartWith("pipe:[");
        LinkOf(ends[1]).Should().Be(pipeName, "both descriptors are the two ends of one pipe");
        pipe.Capacity.Should().BeGreaterThanOrEqualTo(64 * 1024);

        pipe.Dispose();

        // Closed: the numbers are free (or already reused by another test, then for something else).
        LinkOf(ends[0]).Should().NotBe(pipeName);
        LinkOf(ends[1]).Should().NotBe(pipeName);
        pipe.ReadFd.Should().Be(-1);
    }

    private static string? LinkOf(int fd)
    {
        try
        {
            return new FileInfo($"/proc/self/fd/{fd}").LinkTarget;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public void Without_splice_there_is_no_pipe()
    {
        Assert.SkipWhen(SplicePipe.IsSupported, "this OS has splice(2); the kqueue systems are where this runs");
        SplicePipe.TryCreate(64 * 1024, null, out var errno).Should().BeNull();
        errno.Value.Should().NotBe(0);
    }

    internal static void SkipUnlessSplice() =>
        Assert.SkipUnless(SplicePipe.IsSupported, "splice(2) exists only on Linux");
}

/// <summary>Counts this process's descriptors, so it runs alone (other tests open and close some meanwhile).</summary>
[Collection(nameof(OpenFileLimit))]
public sealed class SplicePipeDescriptorTests
{
    [Fact]
    public void A_pipe_costs_two_descriptors_and_dispose_closes_both()
    {
        SplicePipeTests.SkipUnlessSplice();
        var before = Loopback.OpenFdCount();
        var pipe = SplicePipe.TryCreate(64 * 1024, new DescriptorHeadroom(), out _)!;
        Loopback.OpenFdCount().Should().Be(before + 2);
        pipe.Capacity.Should().BeGreaterThanOrEqualTo(64 * 1024);
        pipe.Dispose();
        Loopback.OpenFdCount().Should().Be(before);
    }

    [Fact]
    public void A_pipe_whose_descriptors_would_land_in_the_headroom_is_closed_again_and_refused_as_EMFILE()
    {
        SplicePipeTests.SkipUnlessSplice();

        // A limit two above the lowest free descriptor keeps at least two below it free (probe >= 8 in a test host),
        // so the pipe's higher end lands in the headroom. No assertion runs between the two probes: a first use of
        // an assertion can load assemblies, whose files take descriptors.
        var probe = LowestFreeDescriptor();
        var headroom = new DescriptorHeadroom(DescriptorHeadroom.DefaultHeadroom, () => probe + 2);
        var pipe = SplicePipe.TryCreate(64 * 1024, headroom, out var errno);
        var after = LowestFreeDescriptor();

        pipe.Should().BeNull();
        errno.Value.Should().Be(OsConstants.Current.EMFILE, "the caller backs off as when the kernel refuses");
        after.Should().Be(probe, "both ends were closed again");
    }

    private static int LowestFreeDescriptor()
    {
        var c = OsConstants.Current;
        var fd = Libc.Socket(c.AF_INET, c.SOCK_DGRAM, out var errno);
        if (fd < 0)
        {
            throw new InvalidOperationException($"socket() failed: {errno}");
        }

        Libc.Close(fd);
        return fd;
    }
}
