using System.Diagnostics;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// A TCP urgent byte (MSG_OOB) is echoed in its place in the stream, on the splice and the read/write path, and the
/// server idles afterwards (docs/design.md, "Urgent data"). The fuzz test (Fuzz/TcpEdgeFuzzTests) covers the
/// combinations; this is the one sequence that once pinned a core, by name.
/// </summary>
public sealed class UrgentDataTests
{
    [Theory]
    [MemberData(nameof(ServerPollers.AllWithZeroCopy), MemberType = typeof(ServerPollers))]
    public async Task An_urgent_byte_after_a_large_stream_comes_back_inline_and_the_server_idles(PollerKind poller, string zeroCopy)
    {
        await using var server = await ServerProcess.StartAsync(poller, "--bind", "127.0.0.1:0", "--zero-copy", zeroCopy);
        using var client = await Client.ConnectAsync(server);
        var large = new byte[1 << 20];
        new Random(23).NextBytes(large);
        var sending = Client.SendAllAsync(client, large);
        (await Client.ReadExactlyAsync(client, large.Length)).Should().Equal(large);
        await sending;

        await client.SendAsync("abc"u8.ToArray(), SocketFlags.None);
        await client.SendAsync("X"u8.ToArray(), SocketFlags.OutOfBand);
        await client.SendAsync("def"u8.ToArray(), SocketFlags.None);
        (await Client.ReadExactlyAsync(client, 7)).Should().Equal("abcXdef"u8.ToArray());

        // A measurement window with the connection open and quiet, not a wait for a condition.
        var cpuBefore = server.ReadCpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        (server.ReadCpuTime() - cpuBefore).Should().BeLessThan(clock.Elapsed * 0.2, "the server must not spin on readiness it does not consume");
        await Client.AssertEchoesAsync(client, "still served\n");
    }
}
