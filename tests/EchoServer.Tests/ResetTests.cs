using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>Clients that vanish with a reset mid-stream do not hurt the server or other clients.</summary>
public sealed class ResetTests
{
    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Clients_reset_mid_stream_leave_the_server_alive_and_echoing(PollerKind poller)
    {
        const int clients = 8;
        await using var server = await ServerProcess.StartAsync(poller, "--log-level", "Debug");
        var data = new byte[1024 * 1024];
        new Random(7).NextBytes(data);

        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < clients; i++)
            {
                var socket = await Client.ConnectAsync(server);
                sockets.Add(socket);

                // Mid-stream: read a little of the echo so the server is known to be busy with this one,
                // then send more than it can hand back while nobody reads.
                await Client.SendAllAsync(socket, data.AsMemory(0, 4096));
                await Client.ReadExactlyAsync(socket, 1);
                socket.Blocking = false;
                for (var sent = 0; sent < data.Length;)
                {
                    var n = socket.Send(data, sent, data.Length - sent, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock)
                    {
                        break;
                    }

                    error.Should().Be(SocketError.Success);
                    sent += n;
                }
            }

            foreach (var socket in sockets)
            {
                socket.LingerState = new LingerOption(true, 0);
                socket.Close();
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }

        await Wait.UntilAsync(
            () => server.StdoutLines.Count(l => l.Contains(" closed: ", StringComparison.Ordinal)) >= clients,
            Patience.Settle, $"the server has closed all {clients} reset connections", () => server.Output);

        server.StdoutLines.Where(l => l.Contains(" closed: ", StringComparison.Ordinal))
            .Should().OnlyContain(l => l.Contains("closed: ClientReset", StringComparison.Ordinal), "a reset is reported as one:\n{0}", server.Output);
        await Client.AssertEchoesAsync(server, "still here\n");
        server.HasExited.Should().BeFalse(server.Output);
        server.Output.Should().NotContain("failed and was closed", "a reset is not a handler failure");
    }
}
