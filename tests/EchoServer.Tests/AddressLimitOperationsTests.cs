using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>--max-connections-per-address on the real process: one address cannot take every slot.</summary>
public sealed class AddressLimitOperationsTests
{
    private const int Limit = 3;
    private const int Extra = 2;

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Connections_past_the_limit_from_one_address_are_reset_and_counted_while_another_address_is_served(PollerKind poller)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "a client bound to 127.0.0.2 needs Linux's whole 127/8 on loopback");
        await using var server = await ServerProcess.StartAsync(poller, "--max-connections-per-address", $"{Limit}", "--stats-interval", "200ms");
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                clients.Add(await ConnectFromAsync(server, IPAddress.Loopback));
                await Client.AssertEchoesAsync(clients[i], $"client {i}\n");
            }

            for (var i = 0; i < Extra; i++)
            {
                (await IsRefusedAsync(server, IPAddress.Loopback)).Should().BeTrue("connection {0} from 127.0.0.1 is over the limit of {1}", Limit + i + 1, Limit);
            }

            using (var other = await ConnectFromAsync(server, IPAddress.Parse("127.0.0.2")))
            {
                await Client.AssertEchoesAsync(other, "another address is served\n", Patience.Short);
            }

            await server.WaitForStdoutLineAsync(
                l => StatsLine.Field(l, "rejected_per_address") == Extra && StatsLine.Field(l, "rejected") == 0,
                Patience.Settle, "the stats line counts the per-address resets apart from --max-connections");

            // A close gives the address its slot back.
            clients[0].Shutdown(SocketShutdown.Send);
            (await Client.ReadEndAsync(clients[0], Patience.Short)).Should().Be("EOF");
            await Wait.UntilAsync(() => server.StdoutLines.Any(l => StatsLine.Field(l, "active") == Limit - 1), Patience.Settle, "the server has counted the close");
            using var again = await ConnectFromAsync(server, IPAddress.Loopback);
            await Client.AssertEchoesAsync(again, "room again\n", Patience.Short);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    private static async Task<Socket> ConnectFromAsync(ServerProcess server, IPAddress source)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            using var cts = new CancellationTokenSource(Patience.Io);
            await socket.ConnectAsync(server.EndPoint, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>True if a connection from <paramref name="source"/> is reset (at connect or at its first read) rather than echoed.</summary>
    private static async Task<bool> IsRefusedAsync(ServerProcess server, IPAddress source)
    {
        try
        {
            using var socket = await ConnectFromAsync(server, source);
            await Client.AssertEchoesAsync(socket, "over the limit\n", Patience.Short);
            return false;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return true;
        }
        catch (EndOfStreamException)
        {
            return true;
        }
    }
}
