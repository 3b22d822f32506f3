using System.Diagnostics;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// A client behind a veth that drops 5% of the packets each way at random (nft numgen): the echo still comes back
/// byte-exact, and the server waits on the kernel's retransmissions without spinning.
/// </summary>
/// <remarks>
/// Runs alone in its project: with the other classes' servers competing for the cores, a transfer that already waits on
/// retransmissions also waits for the scheduler, and its windows close and reopen more often (a lost window update then
/// waits for the next backed-off zero-window probe): 13 s and 43 s were seen that way, 0.2-2 s alone.
/// </remarks>
[Collection(nameof(LossyLinkGroup))]
public sealed class LossyLinkTests
{
    private const int Size = 32 * 1024 * 1024;

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Thirty_two_MiB_through_a_link_losing_five_percent_come_back_byte_exact_without_the_server_spinning(PollerKind poller)
    {
        await using var ns = await NetworkNamespace.CreateAsync();
        await using var server = await ServerProcess.StartAsync(poller, "--bind", $"{ns.HostAddress}:0");

        // A client that reads at once into a roomy buffer: a receive window that closes and reopens over a lossy link can
        // wait for a lost window update until the sender's next zero-window probe, and those back off (to 2 minutes).
        using var client = ns.Connect(server.EndPoint, Patience.Scenario, receiveBufferBytes: 4 * 1024 * 1024);
        await ns.LoseAsync(5);
        var payload = new byte[Size];
        Random.Shared.NextBytes(payload);
        var echoed = new byte[Size];

        var cpuBefore = server.ReadCpuTime();
        var clock = Stopwatch.StartNew();
        var sending = Task.Factory.StartNew(() => SendAll(client, payload), TaskCreationOptions.LongRunning);
        var receiving = Task.Factory.StartNew(() => ReceiveAll(client, echoed), TaskCreationOptions.LongRunning);
        await Task.WhenAll(sending, receiving).WaitAsync(Patience.Scenario, TestContext.Current.CancellationToken);
        var elapsed = clock.Elapsed;
        var cpu = server.ReadCpuTime() - cpuBefore;
        var dropped = await ns.DroppedPacketsAsync();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{poller}: 32 MiB echoed over a 5%-lossy veth in {elapsed.TotalSeconds:F2} s ({Size / elapsed.TotalSeconds / (1024 * 1024):F1} MiB/s), "
            + $"{dropped} packets dropped; server CPU {cpu.TotalSeconds:F2} s ({cpu / elapsed:P1} of a core) meanwhile");

        dropped.Should().BeGreaterThan(1000, "about 5% of some 50,000 packets each way were dropped, so the test saw a lossy link");
        echoed.AsSpan().SequenceEqual(payload).Should().BeTrue("every byte comes back, in order, through the losses");

        // Echoing 32 MiB takes a fraction of a CPU second; a loop that spun while the kernel retransmits would add its
        // time waiting, so the CPU used may grow with the bytes but not with the time the losses cost.
        cpu.Should().BeLessThan(TimeSpan.FromSeconds(1) + (elapsed * 0.1), "waiting for retransmissions must not spin the loop");
    }

    private static void SendAll(Socket socket, byte[] data)
    {
        for (var offset = 0; offset < data.Length;)
        {
            offset += socket.Send(data, offset, Math.Min(256 * 1024, data.Length - offset), SocketFlags.None);
        }
    }

    private static void ReceiveAll(Socket socket, byte[] into)
    {
        for (var offset = 0; offset < into.Length;)
        {
            var n = socket.Receive(into, offset, Math.Min(1024 * 1024, into.Length - offset), SocketFlags.None);
            offset += n > 0 ? n : throw new EndOfStreamException($"EOF after {offset} of {into.Length} bytes");
        }
    }
}

/// <summary>The lossy-link transfer, run with nothing else of this project beside it.</summary>
[CollectionDefinition(nameof(LossyLinkGroup), DisableParallelization = true)]
public sealed class LossyLinkGroup;
