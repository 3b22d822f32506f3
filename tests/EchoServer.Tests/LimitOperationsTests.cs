using System.Diagnostics;
using System.Net.Sockets;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>--idle-timeout and --max-connections, on the real process.</summary>
public sealed class LimitOperationsTests
{
    [Fact]
    public async Task Idle_timeout_closes_an_idle_client_but_not_a_busy_one_and_logs_why()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await ServerProcess.StartAsync("--idle-timeout", "500ms", "--log-level", "debug");
        using var idle = await Client.ConnectAsync(server);
        using var busy = await Client.ConnectAsync(server);
        var idlePeer = $"peer={idle.LocalEndPoint}";
        var busyPeer = $"peer={busy.LocalEndPoint}";
        var clock = Stopwatch.StartNew();

        var idleEnd = Task.Run(async () =>
        {
            var how = await Client.ReadEndAsync(idle, Patience.Short);
            return (How: how, At: clock.Elapsed);
        }, ct);

        // The busy client: one byte every ~100 ms, each echoed, for 2 s (four idle timeouts).
        var echoes = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            await Client.AssertEchoesAsync(busy, "b", Patience.Short);
            echoes++;
            await Task.Delay(100, ct); // pacing, not synchronisation
        }

        var (how, at) = await idleEnd;
        how.Should().Be("EOF", "an idle timeout is an orderly close");
        at.Should().BeGreaterThan(TimeSpan.FromMilliseconds(400)).And.BeLessThan(TimeSpan.FromSeconds(3),
            "a 500ms idle timeout closes an idle client after about 0.5 s");
        echoes.Should().BeGreaterThan(5);
        await Client.AssertEchoesAsync(busy, "still open after 2 s\n");

        await server.WaitForStdoutLineAsync(l => l.Contains(idlePeer, StringComparison.Ordinal) && l.Contains("closed: IdleTimeout", StringComparison.Ordinal),
            Patience.Short, "the idle client's close is logged with its reason");
        server.StdoutLines.Should().NotContain(l => l.Contains(busyPeer, StringComparison.Ordinal) && l.Contains("closed:", StringComparison.Ordinal),
            "the busy client was never closed");

        // Once the busy client stops, the timeout counts from its last byte and closes it too.
        (await Client.ReadEndAsync(busy, TimeSpan.FromSeconds(3))).Should().Be("EOF");
    }

    [Fact]
    public async Task Max_connections_resets_the_fourth_client_at_once_and_admits_a_new_one_after_a_close()
    {
        await using var server = await ServerProcess.StartAsync("--max-connections", "3", "--log-level", "debug");
        var clients = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var client = await Client.ConnectAsync(server);
                clients.Add(client);
                await Client.AssertEchoesAsync(client, $"client {i}\n");
            }

            var clock = Stopwatch.StartNew();
            var fourth = await ConnectOrResetAsync(server);
            if (fourth is not null)
            {
                // The handshake completed before the server saw the client; the reset follows.
                using (fourth)
                {
                    var end = await Client.ReadEndAsync(fourth, TimeSpan.FromSeconds(2));
                    end.Should().BeOneOf(["reset", "EOF"], "the fourth client is refused");
                }
            }

            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "the fourth client is refused at once");

            await server.WaitForStdoutLineAsync(l => l.Contains("connection limit of 3 reached", StringComparison.Ordinal),
                Patience.Short, "the limit is logged");
            for (var i = 0; i < 3; i++)
            {
                await Client.AssertEchoesAsync(clients[i], $"client {i} still served\n");
            }

            // Close one in order; its EOF comes from the server's close(2), which follows the release of its slot.
            var leaving = clients[0];
            var leavingPeer = $"peer={leaving.LocalEndPoint}";
            leaving.Shutdown(SocketShutdown.Send);
            (await Client.ReadEndAsync(leaving, Patience.Short)).Should().Be("EOF");
            await server.WaitForStdoutLineAsync(l => l.Contains(leavingPeer, StringComparison.Ordinal) && l.Contains("closed: ClientFinished", StringComparison.Ordinal),
                Patience.Short, "the server has processed the close");

            using var newcomer = await Client.ConnectAsync(server);
            await Client.AssertEchoesAsync(newcomer, "there is room again\n", Patience.Short);

            await server.WaitForStdoutLineAsync(l => l.Contains("below the connection limit again after rejecting 1 connection(s)", StringComparison.Ordinal),
                Patience.Short, "the end of the rejection burst is logged");
            server.StdoutLines.Count(l => l.Contains("connection limit of 3 reached", StringComparison.Ordinal))
                .Should().Be(1, "the warning is logged once per burst\n{0}", server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains(" warn: ", StringComparison.Ordinal) && l.Contains("connection limit of 3 reached", StringComparison.Ordinal),
                "it is a Warning");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task With_two_reactors_the_connection_limit_is_for_the_whole_process()
    {
        // 8 clients over 2 reactors with a limit of 3: a per-reactor limit would admit more than 3 unless
        // the kernel put all 8 on one reactor.
        const int limit = 3;
        const int count = 8;
        await using var server = await ServerProcess.StartAsync("--max-connections", $"{limit}", "--reactors", "2", "--stats-interval", "200ms");
        var clients = new List<Socket>();
        try
        {
            var resetWhileConnecting = 0;
            for (var i = 0; i < count; i++)
            {
                if (await ConnectOrResetAsync(server) is { } client)
                {
                    clients.Add(client);
                }
                else
                {
                    resetWhileConnecting++;
                }
            }

            var served = await Task.WhenAll(clients.Select((c, i) => IsServedAsync(c, $"probe {i}\n")));

            (served.Length + resetWhileConnecting).Should().Be(count);
            served.Count(s => s).Should().Be(limit, "exactly {0} clients fit under the limit, whatever reactor took them\n{1}", limit, server.Output);
            await server.WaitForStdoutLineAsync(
                l => l.Contains($"active={limit} accepted={limit} rejected={count - limit} ", StringComparison.Ordinal),
                Patience.Settle, "the stats line counts the rejections");
            server.StdoutLines.Count(l => l.Contains($"connection limit of {limit} reached", StringComparison.Ordinal))
                .Should().Be(1, "the limit is process-wide, so one burst is warned about once, not once per reactor\n{0}", server.Output);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    /// <summary>A connected client, or null if the server reset it before the connect completed on our side.</summary>
    private static async Task<Socket?> ConnectOrResetAsync(ServerProcess server)
    {
        try
        {
            return await Client.ConnectAsync(server);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return null;
        }
    }

    /// <summary>True if the client's probe comes back; false if the server ended the connection instead.</summary>
    private static async Task<bool> IsServedAsync(Socket client, string probe)
    {
        try
        {
            await Client.AssertEchoesAsync(client, probe, Patience.Short);
            return true;
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown)
        {
            return false;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }
}
