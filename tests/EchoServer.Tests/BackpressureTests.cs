using System.Diagnostics;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>A client that sends without reading is pushed back by TCP flow control, not by the server's memory.</summary>
public sealed class BackpressureTests
{
    private const int Attempt = 64 * 1024 * 1024;
    private const long MaxLetThrough = 48L * 1024 * 1024;
    private const long MaxRssGrowth = 64L * 1024 * 1024;

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task A_client_that_does_not_read_is_held_back_and_later_gets_every_byte_in_order(PollerKind poller)
    {
        await using var server = await ServerProcess.StartAsync(poller, "--max-pending-bytes", "262144");
        using var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        using (var cts = new CancellationTokenSource(Patience.Io))
        {
            await client.ConnectAsync(server.EndPoint, cts.Token);
        }

        await Client.AssertEchoesAsync(server, "warm up\n");
        var rssBefore = server.ReadRssBytes();

        // Send non-blocking until the kernel stops taking data for 1.5 s (no progress), or 64 MiB. Each check
        // sends up to 1 MiB, so the helper's pauses between checks do not throttle the sending.
        client.Blocking = false;
        long sent = 0;
        var chunk = new byte[64 * 1024];
        var clock = Stopwatch.StartNew();
        Wait.Until(
            () =>
            {
                for (var burst = 0; burst < 16 && sent < Attempt; burst++)
                {
                    if (!client.Poll(TimeSpan.FromMilliseconds(1500), SelectMode.SelectWrite))
                    {
                        return true;
                    }

                    PeriodicPattern.Fill(chunk, sent);
                    var n = client.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error);
                    if (error != SocketError.WouldBlock)
                    {
                        error.Should().Be(SocketError.Success);
                        sent += n;
                    }
                }

                return sent >= Attempt;
            },
            Patience.Bulk,
            "the kernel stops taking data from a client whose echoes are not read",
            () => $"sent {sent / 1024} KiB");

        var rssAfter = server.ReadRssBytes();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"let through {sent / 1024} KiB in {clock.Elapsed}; RSS {rssBefore / 1024} KiB -> {rssAfter / 1024} KiB");

        sent.Should().BeLessThan(MaxLetThrough, "the server must stop reading once 256 KiB are owed; only kernel buffers absorb the rest");
        (rssAfter - rssBefore).Should().BeLessThan(MaxRssGrowth, "the server must not buffer what the client does not read");
        server.HasExited.Should().BeFalse(server.Output);

        // Now read: every byte comes back in order, then EOF after our FIN.
        client.Blocking = true;
        var reading = Client.ReadToEndAsync(client, Patience.Bulk);
        client.Shutdown(SocketShutdown.Send);
        var back = await reading;

        back.LongLength.Should().Be(sent);
        var expected = new byte[back.Length];
        PeriodicPattern.Fill(expected, 0);
        var mismatch = back.AsSpan().CommonPrefixLength(expected);
        mismatch.Should().Be(back.Length, "the echo must equal what was sent, in order");
    }
}
