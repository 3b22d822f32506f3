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
        var sent = await SendUntilStalledAsync(socket);
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
        var reading = Client.ReadToEndAsync(socket, Patience.Bulk);
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

            await Wait.UntilAsync(() => server.OnLoop(s => s.Context.Counters.BytesSpliced) > 0, Patience.Settle, "the server has spliced");
            socket.LingerState = new LingerOption(true, 0);
        }

        await WaitForClosedAsync(server);
        server.OnLoop(s => s.Context.Counters.Closed(CloseReason.ClientReset)).Should().Be(1);
        server.OnLoop(s => s.Context.Pipes!.OpenPipes).Should().BeLessThanOrEqualTo(1 + 16, "the reset connection's pipe is closed, not leaked");

        var back = await EchoWithHalfCloseAsync(server.Port, Data.AsMemory(0, 1024 * 1024));
        back.Length.Should().Be(1024 * 1024, "the server still echoes");
    }

    [Fact]
    public async Task A_drain_waits_for_bytes_owed_in_a_pipe_and_then_closes()
    {
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using var socket = await ConnectNotReadingAsync(server.Port);
        var sent = await SendUntilStalledAsync(socket);
        server.OnLoop(s => s.Context.Pipes!.OpenPipes).Should().Be(2, "the connection owes bytes held in its pipe");
        server.Loop.Post(_ => server.Service.BeginDrain(TimeSpan.FromSeconds(30)));

        // The drain does not cut the connection while it owes: reading now gets every byte, then EOF.
        socket.Blocking = true;
        var back = await Client.ReadToEndAsync(socket, Patience.Bulk);
        back.Length.Should().Be(sent);
        back.AsSpan().SequenceEqual(Data.AsSpan(0, sent)).Should().BeTrue();
    }

    [Fact]
    public async Task A_stalled_splicing_connection_waits_without_spinning_then_completes_when_the_client_reads()
    {
        // Level-triggered while splicing: a connection that owes bytes must drop read interest, or the input its
        // client keeps sending would be reported on every wait, unread (a busy loop).
        SkipUnlessSplice();
        const int maxPending = 64 * 1024;
        using var server = new InProcessServer(new EchoOptions { MaxPendingBytes = maxPending });
        using var socket = await ConnectNotReadingAsync(server.Port);
        var sent = await SendUntilStalledAsync(socket);

        var (splicing, owes, received, echoed) = server.OnLoop(s =>
        {
            var connection = TheConnection(s);
            return (connection.Splicing, !connection.OwesNothing, s.Context.Counters.BytesReceived, s.Context.Counters.BytesSent);
        });
        splicing.Should().BeTrue("64 KiB writes switch the connection to splice");
        owes.Should().BeTrue("the client does not read, so the server owes what its socket refused");
        (received - echoed).Should().BeInRange(1, maxPending);

        await ExpectTheLoopIdleAsync(server);

        // The client reads from now on and sends the rest: every byte comes back, in order, and the counters are exact.
        socket.Blocking = true;
        var reading = Client.ReadToEndAsync(socket, Patience.Bulk * 2);
        for (var offset = sent; offset < Data.Length; offset += 64 * 1024)
        {
            await Client.SendAllAsync(socket, Data.AsMemory(offset, Math.Min(64 * 1024, Data.Length - offset)));
        }

        socket.Shutdown(SocketShutdown.Send);
        var back = await reading;
        back.Length.Should().Be(Data.Length);
        back.AsSpan().SequenceEqual(Data).Should().BeTrue("the echo must equal what was sent, in order");
        await WaitForClosedAsync(server);
        server.OnLoop(s => (s.Context.Counters.BytesReceived, s.Context.Counters.BytesSent)).Should().Be((Data.Length, Data.Length));
    }

    [Fact]
    public async Task A_fin_that_reaches_a_splicing_connection_while_it_owes_is_not_spun_on_and_the_echo_ends_after_it()
    {
        // Level-triggered, an end of stream the connection does not read (it owes, so it does not read) would be
        // reported on every wait: it must have dropped read interest.
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using var socket = await ConnectNotReadingAsync(server.Port);
        var clientPort = ((IPEndPoint)socket.LocalEndPoint!).Port;

        // 16 KiB at a time (each large enough to switch to splice), each taken in by the server's kernel, until the
        // server owes: so nothing waits in our send queue, and the FIN goes out at once.
        var sent = 0;
        var owes = false;
        while (!owes && sent < 8 * 1024 * 1024)
        {
            await Client.SendAllAsync(socket, Data.AsMemory(sent, 16 * 1024));
            sent += 16 * 1024;
            await Wait.UntilAsync(() => ProcNetTcp.Find(clientPort, server.Port)?.SendQueue == 0, Patience.Settle, "the server's kernel has taken every byte sent");
            owes = server.OnLoop(s => !TheConnection(s).OwesNothing);
        }

        owes.Should().BeTrue("the client does not read, so the server comes to owe");
        server.OnLoop(s => TheConnection(s).Splicing).Should().BeTrue();
        socket.Shutdown(SocketShutdown.Send);
        await Wait.UntilAsync(() => ProcNetTcp.Find(server.Port, clientPort)?.State == ProcNetTcp.CloseWait, Patience.Settle, "the server's socket has the FIN");

        await ExpectTheLoopIdleAsync(server);
        server.OnLoop(s => s.Context.Counters.Active).Should().Be(1, "the connection still owes its echo");

        socket.Blocking = true;
        var back = await Client.ReadToEndAsync(socket, Patience.Bulk);
        back.Length.Should().Be(sent);
        back.AsSpan().SequenceEqual(Data.AsSpan(0, sent)).Should().BeTrue("the echo must equal what was sent, in order");
        await WaitForClosedAsync(server);
        server.OnLoop(s => s.Context.Counters.Closed(CloseReason.ClientFinished)).Should().Be(1);
        server.OnLoop(s => s.Context.Counters.BytesSent).Should().Be(sent);
    }

    [Fact]
    public async Task A_connection_switches_between_splice_and_read_write_and_back_with_an_exact_echo()
    {
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using var socket = await ConnectAsync(server.Port);
        var expected = new MemoryStream();

        await EchoRoundAsync(Data.AsMemory(0, 1024 * 1024));
        server.OnLoop(s => TheConnection(s).Splicing).Should().BeTrue("large writes switch to splice");

        for (var i = 0; i < 20; i++)
        {
            await EchoRoundAsync(Data.AsMemory(1024 * 1024 + (i * 64), 64));
        }

        server.OnLoop(s => TheConnection(s).Splicing).Should().BeFalse("small messages switch back to read/write");

        await EchoRoundAsync(Data.AsMemory(2 * 1024 * 1024, 1024 * 1024));
        server.OnLoop(s => TheConnection(s).Splicing).Should().BeTrue("large writes switch to splice again");
        await EchoRoundAsync(Data.AsMemory(4 * 1024 * 1024, 100));

        var reading = Client.ReadToEndAsync(socket, Patience.Bulk);
        socket.Shutdown(SocketShutdown.Send);
        (await reading).Should().BeEmpty();
        await WaitForClosedAsync(server);
        var (received, sent, spliced) = server.OnLoop(s => (s.Context.Counters.BytesReceived, s.Context.Counters.BytesSent, s.Context.Counters.BytesSpliced));
        received.Should().Be(expected.Length);
        sent.Should().Be(expected.Length);
        spliced.Should().BeGreaterThan(1024 * 1024, "both large rounds were (mostly) spliced").And.BeLessThan(expected.Length);

        async Task EchoRoundAsync(ReadOnlyMemory<byte> data)
        {
            var echo = Client.ReadExactlyAsync(socket, data.Length);
            for (var offset = 0; offset < data.Length; offset += 64 * 1024)
            {
                await Client.SendAllAsync(socket, data.Slice(offset, Math.Min(64 * 1024, data.Length - offset)));
            }

            (await echo).AsSpan().SequenceEqual(data.Span).Should().BeTrue("the echo must equal what was sent, in order");
            expected.Write(data.Span);
        }
    }

    [Fact]
    public async Task A_steady_spliced_stream_changes_no_registration_per_report()
    {
        // 64 KiB round trips: the client always reads, so nothing is ever owed and the level-triggered
        // registration made when the connection switched to splice is the only change.
        SkipUnlessSplice();
        using var server = new InProcessServer();
        using var socket = await ConnectAsync(server.Port);
        const int rounds = 200;
        var message = Data.AsMemory(0, 64 * 1024);
        await RoundTripAsync();
        var (changesBefore, eventsBefore) = server.OnLoop(s => (s.Context.Counters.Reregistrations, s.Loop.EventsDispatched));
        for (var i = 0; i < rounds; i++)
        {
            await RoundTripAsync();
        }

        var (changes, events, splicing) = server.OnLoop(s => (s.Context.Counters.Reregistrations, s.Loop.EventsDispatched, TheConnection(s).Splicing));
        splicing.Should().BeTrue();
        (events - eventsBefore).Should().BeGreaterThanOrEqualTo(rounds, "every round is at least one report");
        (changes - changesBefore).Should().BeLessThan(rounds / 10, "epoll_ctl only when the mode or what is owed changes, not per report");

        async Task RoundTripAsync()
        {
            var echo = Client.ReadExactlyAsync(socket, message.Length);
            await Client.SendAllAsync(socket, message);
            (await echo).AsSpan().SequenceEqual(message.Span).Should().BeTrue();
        }
    }

    [Fact]
    public async Task A_splicing_connection_that_fell_behind_catches_up_in_one_report()
    {
        // The loop is held while the client queues twelve pipes' worth; once let go, one report splices until the pipe
        // comes back short (up to the read budget), so the client's window opens at once. One splice per report
        // would take twelve reports, each a window update that sends the client's queued bytes from the server's CPU.
        SkipUnlessSplice();
        const int pipeBytes = 16 * 1024;
        const int queued = 12 * pipeBytes;
        using var server = new InProcessServer(new EchoOptions { ReadBufferBytes = pipeBytes, SocketBufferBytes = 4 * queued });
        using var socket = await ConnectAsync(server.Port);
        var clientPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        await Client.SendAllAsync(socket, Data.AsMemory(0, pipeBytes));
        await Client.ReadExactlyAsync(socket, pipeBytes);
        server.OnLoop(s => TheConnection(s).Splicing).Should().BeTrue("a read of the splice threshold switches to splice");

        using var held = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        server.Loop.Post(_ =>
        {
            held.Set();
            release.Wait(Patience.Settle);
        });
        held.Wait(Patience.Settle, TestContext.Current.CancellationToken).Should().BeTrue("the loop runs what is posted to it");
        var echo = Client.ReadExactlyAsync(socket, queued);
        await Client.SendAllAsync(socket, Data.AsMemory(0, queued));
        await Wait.UntilAsync(
            () => ProcNetTcp.Find(server.Port, clientPort)?.ReceiveQueue == queued, Patience.Settle, "every byte sent waits in the server's receive queue",
            () => $"{ProcNetTcp.Find(server.Port, clientPort)}");
        var reportsBefore = server.Loop.EventsDispatched; // the loop is held: nothing writes it meanwhile
        release.Set();

        (await echo).AsSpan().SequenceEqual(Data.AsSpan(0, queued)).Should().BeTrue();
        var reports = server.OnLoop(s => s.Loop.EventsDispatched) - reportsBefore;
        reports.Should().BeLessThanOrEqualTo(2, $"{queued / pipeBytes} pipes' worth queued on one socket is spliced in one report (one more may find the socket empty)");
    }

    private static async Task<byte[]> EchoWithHalfCloseAsync(int port, ReadOnlyMemory<byte> data)
    {
        using var socket = await ConnectAsync(port);
        var reading = Client.ReadToEndAsync(socket, Patience.Bulk);
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
            using var cts = new CancellationTokenSource(Patience.Io);
            await socket.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends from <see cref="Data"/> without blocking until the kernel takes no more for a while (the server stopped reading).</summary>
    /// <returns>How many bytes were sent; the socket is left non-blocking.</returns>
    private static async Task<int> SendUntilStalledAsync(Socket socket)
    {
        socket.Blocking = false;
        var sent = 0;
        for (var stalled = 0; sent < Data.Length && stalled < 30;)
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

        return sent;
    }

    /// <summary>
    /// The loop, with one stalled connection and nothing else to do, must sleep in its wait: over a 500 ms window
    /// it turns only for the two posts that read its counters (a loop woken on every wait turns tens of thousands of times).
    /// </summary>
    private static async Task ExpectTheLoopIdleAsync(InProcessServer server)
    {
        var before = server.OnLoop(s => (s.Loop.Iterations, s.Loop.EventsDispatched));
        await Task.Delay(500, TestContext.Current.CancellationToken); // an observation window, not a synchronisation
        var after = server.OnLoop(s => (s.Loop.Iterations, s.Loop.EventsDispatched));
        (after.Iterations - before.Iterations).Should().BeLessThan(20, "a stalled connection must not wake the loop again and again");
        (after.EventsDispatched - before.EventsDispatched).Should().BeLessThan(20);
    }

    /// <summary>The server's one connection (call on the loop thread).</summary>
    private static EchoConnection TheConnection(EchoService service) =>
        service.Loop.Handlers<EchoConnection>().Single().Handler;

    private static Task WaitForClosedAsync(InProcessServer server) =>
        Wait.UntilAsync(() => server.OnLoop(s => s.Context.Counters.Active) == 0, Patience.Settle, "the server has closed every connection");

    private static void SkipUnlessSplice() =>
        Assert.SkipUnless(SplicePipe.IsSupported, "splice(2) exists only on Linux; kqueue systems keep read/write");

    private static byte[] MakeData(int length)
    {
        var data = new byte[length];
        new Random(11).NextBytes(data);
        return data;
    }
}
