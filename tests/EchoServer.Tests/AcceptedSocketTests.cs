using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using EchoServer.Reactor.Pollers;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// --socket-buffers and --keepalive on the real process: the server's accepted socket as the kernel reports it to ss(8)
/// (a test cannot getsockopt another process's socket).
/// </summary>
public sealed partial class AcceptedSocketTests
{
    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Accepted_connections_have_the_buffers_asked_for_and_a_window_sized_for_them(PollerKind poller)
    {
        SkipUnlessSs();

        // 48 KiB: twice that is not the kernel's usual default (net.ipv4.tcp_rmem 131072), so sized and autotuned differ.
        var sized = await AcceptedSocketAsync(poller, "--socket-buffers", "48KiB");
        var autotuned = await AcceptedSocketAsync(poller);
        TestContext.Current.TestOutputHelper?.WriteLine($"--socket-buffers 48KiB: {sized}\nautotuned: {autotuned}");

        sized.ReceiveBuffer.Should().Be(2 * 48 * 1024, "Linux doubles SO_RCVBUF for its bookkeeping");
        sized.SendBuffer.Should().Be(2 * 48 * 1024);
        autotuned.ReceiveBuffer.Should().NotBe(sized.ReceiveBuffer, "without the option the kernel's sizes apply, so the check above can fail");
        sized.ReceiveWindowScale.Should().BeLessThan(autotuned.ReceiveWindowScale,
            "the handshake chose the window scale for the listener's smaller buffer, not the kernel's largest");
    }

    [Fact]
    public async Task Keepalive_is_on_by_default_with_a_minute_of_idle_and_off_turns_it_off()
    {
        SkipUnlessSs();

        var byDefault = await DescribeAcceptedAsync(PollerKind.Epoll);
        var off = await DescribeAcceptedAsync(PollerKind.Epoll, "--keepalive", "off");
        TestContext.Current.TestOutputHelper?.WriteLine($"default:\n{byDefault}\noff:\n{off}");

        SocketStatistics.KeepAliveSeconds(byDefault).Should().NotBeNull("ss -o shows the keepalive timer of a socket with SO_KEEPALIVE:\n{0}", byDefault)
            .And.BeInRange(50, 60, "the first probe is due a minute after the last packet");
        off.Should().NotContain("keepalive", "--keepalive off leaves the socket as the kernel makes it");
    }

    [Fact]
    public async Task Unix_socket_clients_are_served_without_a_keepalive_warning()
    {
        var path = Path.Combine("/tmp", $"es-{Guid.NewGuid():N}"[..15] + ".sock");
        await using var server = await ServerProcess.StartUnixAsync(path, "--keepalive", "2s:1s:3");
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);

        await Client.AssertEchoesAsync(client, "no keepalive here\n");

        server.Output.Should().NotContain("cannot set", "keepalive is not asked of unix sockets, so nothing fails");
    }

    private static void SkipUnlessSs()
    {
        Skips.When(SocketStatistics.SkipReason);
    }

    /// <summary>Starts a server, connects once, and reads the server side of that connection from ss.</summary>
    private static async Task<AcceptedSocket> AcceptedSocketAsync(PollerKind poller, params string[] args)
    {
        var listing = await DescribeAcceptedAsync(poller, args);
        var match = SsLine().Match(listing);
        match.Success.Should().BeTrue("ss lists the server's side of the connection:\n{0}", listing);
        return new AcceptedSocket(Number(match, "rb"), Number(match, "tb"), Number(match, "rcvscale"));
    }

    /// <summary>ss -tmino's lines for the server's side of one fresh connection.</summary>
    private static async Task<string> DescribeAcceptedAsync(PollerKind poller, params string[] args)
    {
        await using var server = await ServerProcess.StartAsync(poller, args);
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "sized\n");

        // The echo came back, so the server has accepted the connection: ss lists its side now.
        return await SocketStatistics.EstablishedAsync(server.Port);
    }

    private static int Number(Match match, string group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"skmem:\(r\d+,rb(?<rb>\d+),t\d+,tb(?<tb>\d+),.*?wscale:\d+,(?<rcvscale>\d+)", RegexOptions.Singleline)]
    private static partial Regex SsLine();

    private sealed record AcceptedSocket(int ReceiveBuffer, int SendBuffer, int ReceiveWindowScale);
}
