using System.Diagnostics;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>SIGTERM and SIGINT stop the server in order: connections closed, exit code 0, quickly.</summary>
public sealed class SignalTests
{
    public static TheoryData<string, PollerKind> Signals()
    {
        var rows = new TheoryData<string, PollerKind>();
        foreach (var poller in ServerPollers.All())
        {
            rows.Add("TERM", poller);
            rows.Add("INT", poller);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(Signals))]
    public async Task A_signal_with_a_client_connected_exits_0_within_2_seconds_and_the_client_sees_the_end(string signal, PollerKind poller)
    {
        await using var server = await ServerProcess.StartAsync(poller);
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "before the signal\n");

        var clock = Stopwatch.StartNew();
        await server.SendSignalAsync(signal);
        await server.WaitForExitAsync(Patience.ProcessExit);
        clock.Stop();

        server.ExitCode.Should().Be(0, server.Output);
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "SIG{0} must stop the server promptly", signal);
        await ClientSeesEndAsync(client);
    }

    private static async Task ClientSeesEndAsync(Socket client)
    {
        try
        {
            using var cts = new CancellationTokenSource(Patience.Short);
            var n = await client.ReceiveAsync(new byte[64], SocketFlags.None, cts.Token);
            n.Should().Be(0, "the server closed the connection (EOF)");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A reset is also a clear end.
        }
    }
}
