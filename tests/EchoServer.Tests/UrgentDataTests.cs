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

        await AssertUrgentByteAfterLargeStreamComesBackInlineAsync(client);

        // With the connection open and quiet.
        (await server.MeasureCpuShareAsync(TimeSpan.FromSeconds(1))).Should().BeLessThan(0.2, "the server must not spin on readiness it does not consume");
        await Client.AssertEchoesAsync(client, "still served\n");
    }

    /// <summary>
    /// Echoes 1 MiB (which moves a connection to the splice path, where splice is on), then sends <c>abc</c>, one
    /// MSG_OOB byte and <c>def</c>, and expects <c>abcXdef</c> back. Skips where the socket family has no MSG_OOB.
    /// </summary>
    internal static async Task AssertUrgentByteAfterLargeStreamComesBackInlineAsync(Socket client)
    {
        var large = new byte[1 << 20];
        new Random(23).NextBytes(large);
        var sending = Client.SendAllAsync(client, large);
        (await Client.ReadExactlyAsync(client, large.Length)).Should().Equal(large);
        await sending;

        await client.SendAsync("abc"u8.ToArray(), SocketFlags.None);
        try
        {
            await client.SendAsync("X"u8.ToArray(), SocketFlags.OutOfBand);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.OperationNotSupported)
        {
            Assert.Skip("this kernel has no MSG_OOB on unix stream sockets (Linux 5.15+ with CONFIG_AF_UNIX_OOB)");
        }

        await client.SendAsync("def"u8.ToArray(), SocketFlags.None);
        (await Client.ReadExactlyAsync(client, 7)).Should().Equal("abcXdef"u8.ToArray(), "the urgent byte is kept inline, in its place");
    }
}
