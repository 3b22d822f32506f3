using System.Net;
using System.Net.Sockets;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// What a server started with <c>--udp</c> must do on any OS (on Linux, and as <c>echoserver.exe</c> under Wine): answer each
/// datagram with its exact bytes from the port it was sent to, and never answer source port 7.
/// </summary>
internal static class UdpEchoChecks
{
    /// <summary>
    /// Waits for the server's "echoing UDP datagrams" line for its TCP address, then sends datagrams of 6, 0, 3 and 1400 bytes
    /// from a socket on the same loopback and expects each back, byte for byte, from the server's address and port.
    /// </summary>
    public static async Task AssertEchoesDatagramsAsync(ServerProcess server, CancellationToken ct)
    {
        var target = server.EndPoint;
        await server.WaitForStdoutLineAsync(l => l.Contains($"echoing UDP datagrams on {target}", StringComparison.Ordinal),
            Patience.Short, "UDP shares the TCP address and port");

        using var udp = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        udp.Bind(new IPEndPoint(target.Address, 0));
        var big = new byte[1400];
        new Random(1400).NextBytes(big);
        byte[][] payloads = ["hello\n"u8.ToArray(), [], [0, 255, 0], big];
        var any = new IPEndPoint(target.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        foreach (var payload in payloads)
        {
            await udp.SendToAsync(payload, SocketFlags.None, target, ct);
            var buffer = new byte[65536];
            using var cts = new CancellationTokenSource(Patience.Short);
            var result = await udp.ReceiveFromAsync(buffer, SocketFlags.None, any, cts.Token);
            result.RemoteEndPoint.Should().Be(target, "the answer comes from the server's port");
            buffer.AsSpan(0, result.ReceivedBytes).ToArray().Should().Equal(payload, "a datagram of {0} bytes comes back as it was", payload.Length);
        }
    }

    /// <summary>Sends one datagram from 127.0.0.1:7 to <paramref name="target"/> and expects no answer within 500 ms.</summary>
    public static async Task AssertSourcePort7IsNotAnsweredAsync(IPEndPoint target, CancellationToken ct)
    {
        using var port7 = await SourcePort7.BindAsync(ct);
        var seven = port7.Socket;
        await seven.SendToAsync("from the echo port"u8.ToArray(), SocketFlags.None, target, ct);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var answer = async () => await seven.ReceiveFromAsync(new byte[256], SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
        await answer.Should().ThrowAsync<OperationCanceledException>("a datagram from source port 7 is never answered");
    }

    /// <summary>
    /// Both checks above on a server started with <c>--udp --stats-interval 200ms</c> on 127.0.0.1, then its stats line:
    /// the four datagrams echoed, the one from port 7 dropped.
    /// </summary>
    public static async Task AssertEchoesAndRefusesSourcePort7Async(ServerProcess server, CancellationToken ct)
    {
        await AssertEchoesDatagramsAsync(server, ct);
        await AssertSourcePort7IsNotAnsweredAsync(server.EndPoint, ct);

        var stats = await server.WaitForStdoutLineAsync(l => StatsLine.Field(l, "udp_dropped") >= 1, Patience.Settle,
            "the stats line counts the dropped datagram");
        StatsLine.Field(stats, "udp_echoed").Should().Be(4, "the four answered datagrams are counted");
        StatsLine.Field(stats, "udp_dropped").Should().Be(1);
    }
}
