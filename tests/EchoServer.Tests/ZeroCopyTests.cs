using System.Net;
using System.Net.Sockets;
using EchoServer.Echo;
using EchoServer.Reactor.Net;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// Zero-copy echo (splice(2) through the loop's pipe, Linux): large transfers are spliced, small messages
/// stay on read/write, and every guarantee of the read/write path holds: exact bytes and counters,
/// half-close, a bounded owed tail (kept in a pipe, or copied out when no pipe may be opened).
/// </summary>
public sealed class ZeroCopyTests
{
    private static readonly byte[] Data = MakeData(32 * 1024 * 1024);

    [Fact]
    public async Task Large_transfers_are_spliced_and_echoed_byte_for_byte()
    {
        SkipUnlessSplice();
        using var server = new InProcessServer();

        var back = await EchoWithHalfCloseAsync(server.Port, Data.AsMemory(0, 8 * 1024 * 1024));

        back.AsSpan().SequenceEqual(Data.AsSpan(0, 8 * 1024 * 1024)).Should().BeTrue("the echo must equal what was sent, in order");
        await WaitForClosedAsync(server);
        var (received, sent, spliced) = server.OnLoop(s => (s.Context.Counters.BytesReceived, s.Context.Counters.BytesSent, s.Context.Counters.BytesSpliced));
        received.Should().Be(8 * 1024 * 1024);
        sent.Should().Be(8 * 1024 * 1024);
        spliced.Should().BeGreaterThan(4 * 1024 * 1024, "64 KiB writes make large reads, which switch the connection to splice");
    }

    [Fact]
    public async Task Small_messages_stay_on_read_and_write()
    {
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using var socket = await ConnectAsync(server.Port);
        var message = new byte[64];
        for (var i = 0; i < 200; i++)
        {
            message[0] = (byte)i;
            await socket.SendAsync(message, TestContext.Current.CancellationToken);
            var echo = await Client.ReadExactlyAsync(socket, message.Length);
            echo[0].Should().Be((byte)i);
        }

        server.OnLoop(s => s.Context.Counters.BytesSpliced).Should().Be(0);
        server.OnLoop(s => s.Context.Pipes!.OpenPipes).Should().Be(0, "no pipe is opened before a connection needs one");
    }

    [Fact]
    public async Task With_zero_copy_off_nothing_is_spliced()
    {
        using var server = new InProcessServer(new EchoOptions { ZeroCopy = false });

        var back = await EchoWithHalfCloseAsync(server.Port, Data.AsMemory(0, 2 * 1024 * 1024));

        back.AsSpan().SequenceEqual(Data.AsSpan(0, 2 * 1024 * 1024)).Should().BeTrue();
        server.OnLoop(s => s.Context.Pipes).Should().BeNull();
        server.OnLoop(s => s.Context.Counters.BytesSpliced).Should().Be(0);
    }

    [Theory]
    [InlineData(256)]
    [InlineData(1)]
    public async Task A_client_that_does_not_read_owes_a_bounded_tail_and_gets_it_all_later(int maxPipes)
    {
        // maxPipes 1: only the loop pipe may be open, so a refused tail cannot keep a pipe and is copied out.
        SkipUnlessSplice();
        const int maxPending = 64 * 1024;
        using var server = new InProcessServer(new EchoOptions { MaxPendingBytes = maxPending, MaxSplicePipes = maxPipes });
        using var socket = await ConnectNotReadingAsync(server.Port);

        // Send until the kernel takes no more: the server has stopped reading and owes at most maxPending.
        socket.Blocking = false;
        var sent = 0;
        var stalled = 0;
        while (sent < Data.Length && stalled < 30)
        {
            var n = socket.Send(Data, sent, Math.Min(64 * 1024, Data.Length - sent), SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                stalled++;
                await Task.Delay(20, TestContext.Current.CancellationToken);
                continue;
            }

            error.Should().Be(SocketError.Success);
            stalled = 0;
            sent += n;
        }

        sent.Should().BeLessThan(Data.Length, "flow control must stop a client that does not read");
        var (received, echoed, pipes, spliced) = server.OnLoop(s =>
            (s.Context.Counters.BytesReceived, s.Context.Counters.BytesSent, s.Context.Pipes!.OpenPipes, s.Context.Counters.BytesSpliced));
        (received - echoed).Should().BeInRange(1, maxPending, "reading stops while anything is owed, and a read is capped at --max-pending-bytes");
        pipes.Should().BeLessThanOrEqualTo(maxPipes);
        if (maxPipes > 1)
        {
            pipes.Should().Be(2, "the owed tail stays in the pipe it was spliced into; the loop took a fresh one");
        }

        spliced.Should().BeGreaterThan(0);

        socket.Blocking = true;
        var reading = Client.ReadToEndAsync(socket, TimeSpan.FromSeconds(30));
        socket.Shutdown(SocketShutdown.Send);
        var back = await reading;
        back.Length.Should().Be(sent);
        back.AsSpan().SequenceEqual(Data.AsSpan(0, sent)).Should().BeTrue("the echo must equal what was sent, in order");
        await WaitForClosedAsync(server);
        server.OnLoop(s => s.Context.Counters.BytesSent).Should().Be(sent);
        server.OnLoop(s => s.Context.Pipes!.OpenPipes).Should().BeLessThanOrEqualTo(maxPipes);
    }

    [Fact]
    public async Task A_client_reset_while_owed_spliced_bytes_closes_only_that_connection_and_frees_its_pipe()
    {
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using (var socket = await ConnectNotReadingAsync(server.Port))
        {
            socket.Blocking = false;
            for (var sent = 0; sent < Data.Length;)
            {
                var n = socket.Send(Data, sent, 64 * 1024, SocketFlags.None, out var error);
                if (error != SocketError.Success)
                {
                    break;
                }

                sent += n;
            }

            await Wait.UntilAsync(() => server.OnLoop(s => s.Context.Counters.BytesSpliced) > 0, TimeSpan.FromSeconds(10), "the server has spliced");
            socket.LingerState = new LingerOption(true, 0);
        }

        await WaitForClosedAsync(server);
        server.OnLoop(s => s.Context.Counters.Closed(CloseReason.ClientReset)).Should().Be(1);
        server.OnLoop(s => s.Context.Pipes!.OpenPipes).Should().BeLessThanOrEqualTo(1 + 16, "the reset connection's pipe is closed, not leaked");

        var back = await EchoWithHalfCloseAsync(server.Port, Data.AsMemory(0, 1024 * 1024));
        back.Length.Should().Be(1024 * 1024, "the server still echoes");
    }

    private static async Task<byte[]> EchoWithHalfCloseAsync(int port, ReadOnlyMemory<byte> data)
    {
        using var socket = await ConnectAsync(port);
        var reading = Client.ReadToEndAsync(socket, TimeSpan.FromSeconds(30));
        for (var offset = 0; offset < data.Length; offset += 64 * 1024)
        {
            await Client.SendAllAsync(socket, data.Slice(offset, Math.Min(64 * 1024, data.Length - offset)));
        }

        // Half-close: the server sends the rest of the echo, then its own FIN.
        socket.Shutdown(SocketShutdown.Send);
        return await reading;
    }

    private static async Task<Socket> ConnectAsync(int port) =>
        await Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));

    /// <summary>A client with a small receive buffer (set before connecting, so the window stays small).</summary>
    private static async Task<Socket> ConnectNotReadingAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        try
        {
            using var cts = new CancellationTokenSource(Client.IoTimeout);
            await socket.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static Task WaitForClosedAsync(InProcessServer server) =>
        Wait.UntilAsync(() => server.OnLoop(s => s.Context.Counters.Active) == 0, TimeSpan.FromSeconds(10), "the server has closed every connection");

    private static void SkipUnlessSplice() =>
        Assert.SkipUnless(SplicePipe.IsSupported, "splice(2) exists only on Linux; kqueue systems keep read/write");

    private static byte[] MakeData(int length)
    {
        var data = new byte[length];
        new Random(11).NextBytes(data);
        return data;
    }
}
