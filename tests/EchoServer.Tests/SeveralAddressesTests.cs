using System.Net;
using System.Net.Sockets;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>--bind given several times: every address is served, logged and counted, with --reactors and --udp.</summary>
public sealed class SeveralAddressesTests
{
    [Fact]
    public async Task Ipv4_ipv6_and_unix_addresses_are_all_served_logged_and_counted_with_two_reactors_and_udp()
    {
        var path = Path.Combine("/tmp", $"echoserver-several-{Guid.NewGuid():N}.sock");
        try
        {
            await using var server = await ServerProcess.StartAsync(
                "--bind", "127.0.0.1:0", "--bind", "[::1]:0", "--bind", $"unix:{path}", "--reactors", "2", "--udp");
            await Wait.UntilAsync(() => server.ListeningAddresses.Count == 3, Patience.Short, "three listening lines", () => server.Output);
            var addresses = server.ListeningAddresses;
            var v4 = IPEndPoint.Parse(addresses[0]);
            var v6 = IPEndPoint.Parse(addresses[1]);
            v4.Address.Should().Be(IPAddress.Loopback);
            v6.Address.Should().Be(IPAddress.IPv6Loopback);
            addresses[2].Should().Be($"unix:{path}");
            server.StdoutLines.Should().Contain(l => l.Contains($"listening on {v4} (", StringComparison.Ordinal) && l.EndsWith(", 2 reactor(s))", StringComparison.Ordinal), server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains($"listening on unix:{path} (", StringComparison.Ordinal) && l.EndsWith(", 1 reactor(s))", StringComparison.Ordinal), server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains($"echoing UDP datagrams on {v4}", StringComparison.Ordinal), server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains($"echoing UDP datagrams on {v6}", StringComparison.Ordinal), server.Output);

            // Several connections per TCP address, so both reactors' SO_REUSEPORT listeners are likely to take some.
            for (var i = 0; i < 4; i++)
            {
                await Client.AssertEchoesAsync(await Client.ConnectAsync(v4), $"v4 {i}\n");
            }

            for (var i = 0; i < 3; i++)
            {
                await Client.AssertEchoesAsync(await Client.ConnectAsync(v6), $"v6 {i}\n");
            }

            using (var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
            {
                await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
                await Client.AssertEchoesAsync(unix, "unix\n");
            }

            foreach (var target in new[] { v4, v6 })
            {
                using var udp = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(target.Address, 0));
                await udp.SendToAsync("datagram"u8.ToArray(), SocketFlags.None, target, TestContext.Current.CancellationToken);
                var buffer = new byte[64];
                using var cts = new CancellationTokenSource(Patience.Short);
                var result = await udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(target.Address, 0), cts.Token);
                buffer.AsSpan(0, result.ReceivedBytes).ToArray().Should().Equal("datagram"u8.ToArray(), "UDP is echoed beside {0}", target);
            }

            await server.SendSignalAsync("TERM");
            await server.WaitForExitAsync(Patience.ProcessExit);
            server.ExitCode.Should().Be(0, server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains($"connections per listener: {v4}=4, {v6}=3, unix:{path}=1", StringComparison.Ordinal),
                server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains("stopped: 8 connections served", StringComparison.Ordinal), server.Output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_taken_second_address_exits_1_naming_it_and_serves_nothing()
    {
        using var holder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var taken = $"127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        await using var server = await ServerProcess.RunToExitAsync("--bind", "[::1]:0", "--bind", taken);

        server.ExitCode.Should().Be(1, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain($"cannot listen on {taken}").And.Contain("address already in use");
        server.ListeningAddresses.Should().BeEmpty("nothing is announced unless every address is open");
    }
}
