using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>What goes in comes back: byte for byte, in order, over IPv4 and IPv6.</summary>
public sealed class EchoTests
{
    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task A_line_comes_back(PollerKind poller)
    {
        await using var server = await ServerProcess.StartAsync(poller);
        using var client = await Client.ConnectAsync(server);

        await Client.SendAllAsync(client, "hello\n"u8.ToArray());
        var back = await Client.ReadExactlyAsync(client, 6);

        Encoding.ASCII.GetString(back).Should().Be("hello\n");
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task All_256_byte_values_come_back_in_order(PollerKind poller)
    {
        await using var server = await ServerProcess.StartAsync(poller);
        using var client = await Client.ConnectAsync(server);
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();

        await Client.SendAllAsync(client, all);
        var back = await Client.ReadExactlyAsync(client, all.Length);

        back.Should().Equal(all);
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task A_16_MiB_random_stream_written_and_read_concurrently_comes_back_intact(PollerKind poller)
    {
        const int total = 16 * 1024 * 1024;
        const int chunk = 64 * 1024;
        var data = new byte[total];
        new Random(862).NextBytes(data);
        var sent = SHA256.HashData(data);

        await using var server = await ServerProcess.StartAsync(poller);
        using var client = await Client.ConnectAsync(server);
        var timeout = Patience.Bulk;

        var writer = Task.Run(async () =>
        {
            for (var offset = 0; offset < total; offset += chunk)
            {
                await Client.SendAllAsync(client, data.AsMemory(offset, chunk), timeout);
            }
        }, TestContext.Current.CancellationToken);
        var reader = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var cts = new CancellationTokenSource(timeout);
            var buffer = new byte[chunk];
            long received = 0;
            while (received < total)
            {
                var n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                n.Should().BePositive($"the server closed after {received} of {total} bytes");
                hash.AppendData(buffer, 0, n);
                received += n;
            }

            return hash.GetHashAndReset();
        }, TestContext.Current.CancellationToken);

        await writer;
        var returned = await reader;

        Convert.ToHexString(returned).Should().Be(Convert.ToHexString(sent));
    }

    [Fact]
    public async Task IPv6_loopback_echoes()
    {
        await using var server = await ServerProcess.StartAsync("--bind", "[::1]:0");
        server.EndPoint.Address.Should().Be(IPAddress.IPv6Loopback);
        using var client = await Client.ConnectAsync(new IPEndPoint(IPAddress.IPv6Loopback, server.Port));

        await Client.AssertEchoesAsync(client, "hello over IPv6\n");
    }

    public static TheoryData<int, bool, PollerKind> HalfCloseCases()
    {
        var rows = new TheoryData<int, bool, PollerKind>();
        foreach (var poller in ServerPollers.All())
        {
            rows.Add(300 * 1024, true, poller);
            rows.Add((2 * 1024 * 1024) + 12345, false, poller);
            rows.Add(12345, false, poller);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(HalfCloseCases))]
    public async Task After_the_client_half_closes_it_gets_all_its_data_back_then_EOF(int size, bool readWhileSending, PollerKind poller)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        await using var server = await ServerProcess.StartAsync(poller);
        using var client = await Client.ConnectAsync(server);

        // Either read while sending, or send everything first (more than --max-pending-bytes, so the server
        // has paused reading when the FIN arrives) and read only after the half-close.
        var reading = readWhileSending ? Client.ReadToEndAsync(client) : null;
        await Client.SendAllAsync(client, data);
        client.Shutdown(SocketShutdown.Send);
        var back = await (reading ?? Client.ReadToEndAsync(client));

        back.Length.Should().Be(data.Length);
        back.AsSpan().SequenceEqual(data).Should().BeTrue("the echo must equal what was sent");
        using var cts = new CancellationTokenSource(Patience.Short);
        (await client.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token)).Should().Be(0, "EOF stays EOF");
    }

    [Fact]
    public async Task A_hundred_concurrent_clients_each_get_exactly_their_own_payload()
    {
        const int clients = 100;
        const int size = 64 * 1024;
        await using var server = await ServerProcess.StartAsync();

        async Task<bool> RunClient(int id)
        {
            var payload = new byte[size];
            new Random(id).NextBytes(payload);
            payload[0] = (byte)id;
            using var socket = await Client.ConnectAsync(server);
            var reading = Client.ReadExactlyAsync(socket, size, Patience.Bulk);
            await Client.SendAllAsync(socket, payload, Patience.Bulk);
            var back = await reading;
            return back.AsSpan().SequenceEqual(payload);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(id => Task.Run(() => RunClient(id), TestContext.Current.CancellationToken)));

        results.Count(ok => !ok).Should().Be(0, "every client must get its own payload back exactly");
    }
}
