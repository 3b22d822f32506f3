using System.Diagnostics;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// --max-pending-total on the real process: thousands of clients that send and do not read cannot push what the
/// server holds (RSS growth plus bytes in its pipes) past the budget plus a stated slack; a client that reads is
/// served meanwhile; once the others read, every byte comes back in order.
/// </summary>
public sealed class MemoryBudgetOperationsTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>What each client tries to send: well past what its connection's kernel buffers and one tail hold.</summary>
    private const int PerClient = 2 * 1024 * 1024;

    /// <summary>
    /// The slack past the budget's own bound (the budget, one full read per loop, 1 KiB per client): the runtime's
    /// growth with thousands of connections (heap, array pool, token table).
    /// </summary>
    private const long RuntimeSlack = 24L * 1024 * 1024;

    /// <summary>
    /// Clients: 2,000 on every backend (ECHOSERVER_BUDGET_CLIENTS overrides the count; docs/design.md's figure is for
    /// 5,000). Over libkqueue this is past the 512 events one kevent() returns, where libkqueue drops edges that
    /// <c>KqueuePoller</c> then makes up for (docs/design.md, "kqueue over libkqueue", point 6).
    /// </summary>
    private static int ClientCount =>
        int.TryParse(Environment.GetEnvironmentVariable("ECHOSERVER_BUDGET_CLIENTS"), out var n) && n > 0 ? n : 2000;

    [Theory]
    [MemberData(nameof(ServerPollers.AllWithZeroCopy), MemberType = typeof(ServerPollers))]
    public async Task Clients_that_do_not_read_are_held_within_the_budget_and_later_get_every_byte(PollerKind poller, string zeroCopy)
    {
        // Over a unix socket: its buffers do not grow by themselves, so the server owes after a few hundred KiB per
        // client; over loopback TCP, autotuned buffers hold megabytes per connection first, and thousands of such
        // clients push the host's TCP memory to its limit (net.ipv4.tcp_mem), which slows every socket on it.
        var (count, budget) = (ClientCount, 32 * MiB);
        var path = Path.Combine(Path.GetTempPath(), $"echo-budget-{Guid.NewGuid():N}.sock");
        await using var server = await ServerProcess.StartAsync(poller, "--bind", "127.0.0.1:0", "--bind", $"unix:{path}",
            "--max-pending-total", $"{budget / MiB}MiB", "--zero-copy", zeroCopy, "--stats-interval", "200ms");
        var endPoint = new UnixDomainSocketEndPoint(path);
        await Client.AssertEchoesAsync(server, "warm up\n");
        var rssBefore = server.ReadRssBytes();
        var clients = new List<Socket>();
        try
        {
            await ConnectAsync(clients, endPoint, count);
            var sent = new long[clients.Count];
            var clock = Stopwatch.StartNew();
            SendUntilHeldBack(clients, sent);
            var pending = await SettledPendingBytesAsync(server);
            var (rss, pipes) = (server.ReadRssBytes(), server.ReadPipeBytes());
            var held = rss - rssBefore + pipes;
            var bound = budget + (256 * 1024) + ((long)clients.Count * 1024) + RuntimeSlack;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"{clients.Count} clients sent {sent.Sum() / 1024 / 1024} MiB in {clock.Elapsed}; held back: RSS {rssBefore / 1024} KiB -> "
                + $"{rss / 1024} KiB, pipes {pipes / 1024} KiB, pending_bytes {pending / 1024} KiB; bound {bound / 1024} KiB");

            pending.Should().BeGreaterThan(budget / 2, "the clients owe enough to reach the budget, or the test proves nothing");
            pending.Should().BeLessThan(budget + (256 * 1024) + ((long)clients.Count * 1024), "the server's own count stays within the budget");
            held.Should().BeLessThan(bound, "RSS growth plus pipe bytes stay within the budget plus the slack\n{0}", server.Output);
            server.StdoutLines.Should().Contain(l => l.Contains("pending-bytes budget reached", StringComparison.Ordinal), "reaching the budget is logged");

            // A client that reads is served without a stall, small messages and bulk alike.
            using var reader = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await reader.ConnectAsync(endPoint, TestContext.Current.CancellationToken);
            var served = Stopwatch.StartNew();
            await Client.AssertEchoesAsync(reader, "served meanwhile\n", Patience.Short);
            var bulk = new byte[1024 * 1024];
            PeriodicPattern.Fill(bulk, 0);
            var echoing = Client.ReadExactlyAsync(reader, bulk.Length, Patience.Short);
            await Client.SendAllAsync(reader, bulk, Patience.Short);
            (await echoing).Should().Equal(bulk);
            served.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3), "a client that reads is not held back by the others");

            // Now every client reads: all it sent comes back, in order.
            await Task.WhenAll(clients.Select((c, i) => ExpectEchoAsync(c, sent[i], Offset(i))));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            File.Delete(path);
        }
    }

    [Fact]
    public async Task With_two_reactors_a_loop_holds_its_share_of_the_budget()
    {
        // A unix socket is served by one loop of the two, so its clients can hold only that loop's half.
        const long budget = 16 * MiB;
        const int count = 1000;
        var path = Path.Combine(Path.GetTempPath(), $"echo-budget-{Guid.NewGuid():N}.sock");
        await using var server = await ServerProcess.StartAsync(PollerKind.Epoll, "--bind", "127.0.0.1:0", "--bind", $"unix:{path}",
            "--reactors", "2", "--max-pending-total", "16MiB", "--stats-interval", "200ms");
        var clients = new List<Socket>();
        try
        {
            await ConnectAsync(clients, new UnixDomainSocketEndPoint(path), count);
            var sent = new long[clients.Count];
            SendUntilHeldBack(clients, sent);
            var pending = await SettledPendingBytesAsync(server);

            pending.Should().BeGreaterThan(budget / 4, "the clients owe enough to reach the loop's share");
            pending.Should().BeLessThan((budget / 2) + (256 * 1024) + (count * 1024L), "one loop holds half of the budget\n{0}", server.Output);
            await Task.WhenAll(clients.Select((c, i) => ExpectEchoAsync(c, sent[i], Offset(i))));
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            File.Delete(path);
        }
    }

    /// <summary>Adds <paramref name="count"/> non-blocking clients of the unix socket at <paramref name="endPoint"/> to <paramref name="clients"/>.</summary>
    private static async Task ConnectAsync(List<Socket> clients, UnixDomainSocketEndPoint endPoint, int count)
    {
        for (var i = 0; i < count; i++)
        {
            // A small send buffer: the server's reads, and so its tails, are at most what one send can have in flight.
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { SendBufferSize = 64 * 1024 };
            clients.Add(socket);
            using var cts = new CancellationTokenSource(Patience.Io);
            await socket.ConnectAsync(endPoint, cts.Token);
            socket.Blocking = false;
        }
    }

    /// <summary>Sends from every client, non-blocking, until none has made progress for 1.5 s or each has sent <see cref="PerClient"/>.</summary>
    private static void SendUntilHeldBack(List<Socket> clients, long[] sent)
    {
        var chunk = new byte[64 * 1024];
        var sinceProgress = Stopwatch.StartNew();
        Wait.Until(
            () =>
            {
                for (var i = 0; i < clients.Count; i++)
                {
                    if (sent[i] >= PerClient)
                    {
                        continue;
                    }

                    PeriodicPattern.Fill(chunk, Offset(i) + sent[i]);
                    var n = clients[i].Send(chunk, 0, (int)Math.Min(chunk.Length, PerClient - sent[i]), SocketFlags.None, out var error);
                    if (error == SocketError.Success && n > 0)
                    {
                        sent[i] += n;
                        sinceProgress.Restart();
                    }
                    else
                    {
                        error.Should().Be(SocketError.WouldBlock);
                    }
                }

                return sinceProgress.Elapsed > TimeSpan.FromSeconds(1.5) || sent.All(s => s >= PerClient);
            },
            Patience.Scenario,
            "the kernel stops taking data from clients whose echoes are not read",
            () => $"sent {sent.Sum() / 1024} KiB");
    }

    /// <summary>The server's pending_bytes once two stats lines in a row show no more bytes received: it has read all it will.</summary>
    private static async Task<long> SettledPendingBytesAsync(ServerProcess server)
    {
        long? Field(int fromEnd, string name) =>
            server.StdoutLines.Where(StatsLine.Is).Reverse().Skip(fromEnd).Select(l => StatsLine.Field(l, name)).FirstOrDefault();
        var before = server.StdoutLines.Count(StatsLine.Is);
        await Wait.UntilAsync(
            () => server.StdoutLines.Count(StatsLine.Is) >= before + 2 && Field(0, "bytes_received") == Field(1, "bytes_received"),
            Patience.Bulk, "the server has read all that the held-back clients let it", () => server.Output);
        return Field(0, "pending_bytes") ?? throw new InvalidOperationException($"no pending_bytes in the stats line\n{server.Output}");
    }

    /// <summary>Reads <paramref name="count"/> bytes and checks them against the pattern from <paramref name="offset"/>.</summary>
    private static async Task ExpectEchoAsync(Socket socket, long count, long offset)
    {
        using var cts = new CancellationTokenSource(Patience.Scenario);
        var buffer = new byte[64 * 1024];
        var expected = new byte[buffer.Length];
        for (long received = 0; received < count;)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count - received)), SocketFlags.None, cts.Token);
            n.Should().BePositive("the echo ended after {0} of {1} bytes", received, count);
            PeriodicPattern.Fill(expected, offset + received);
            buffer.AsSpan(0, n).SequenceEqual(expected.AsSpan(0, n)).Should().BeTrue("the echo equals what was sent, in order (at byte {0})", received);
            received += n;
        }
    }

    /// <summary>Where client <paramref name="client"/>'s stream starts in the pattern: its own place, so crossed streams show.</summary>
    private static long Offset(int client) => client * 7919L;
}
