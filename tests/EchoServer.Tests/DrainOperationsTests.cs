using System.Diagnostics;
using System.Net.Sockets;
using System.Security.Cryptography;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The drain on SIGTERM: busy clients finish, quiet ones close, --shutdown-timeout ends the rest, a second signal ends it all.</summary>
public sealed class DrainOperationsTests
{
    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task A_client_streaming_8_MiB_through_SIGTERM_gets_every_byte_then_EOF_and_the_server_exits_0(PollerKind poller)
    {
        const int total = 8 * 1024 * 1024;
        const int chunk = 32 * 1024;
        var ct = TestContext.Current.CancellationToken;
        var data = new byte[total];
        new Random(8).NextBytes(data);
        var sent = Convert.ToHexString(SHA256.HashData(data));

        await using var server = await ServerProcess.StartAsync(poller, "--shutdown-timeout", "10s");
        using var client = await Client.ConnectAsync(server);
        var timeout = Patience.Bulk;
        var firstMiBBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long written = 0;

        // The writer paces itself (a 32 KiB chunk every ~2 ms, so 8 MiB takes about a second) on its own thread:
        // unpaced, all 8 MiB would sit in the kernel's socket buffers before SIGTERM arrived, and the drain would
        // find nothing still coming. Pacing is not synchronisation; the gaps stay far below the drain's 100 ms.
        var writer = RunOnThread(() =>
        {
            client.SendTimeout = (int)timeout.TotalMilliseconds;
            for (var offset = 0; offset < total; offset += chunk)
            {
                var piece = data.AsSpan(offset, chunk);
                while (!piece.IsEmpty)
                {
                    piece = piece[client.Send(piece)..];
                }

                Interlocked.Add(ref written, chunk);
                Thread.Sleep(2);
            }
        });
        var reader = Task.Run(async () =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var cts = new CancellationTokenSource(timeout);
            var buffer = new byte[64 * 1024];
            long received = 0;
            while (received < total)
            {
                var n = await client.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, total - received)), SocketFlags.None, cts.Token);
                n.Should().BePositive($"the server closed after {received} of {total} bytes");
                hash.AppendData(buffer, 0, n);
                received += n;
                if (received >= 1024 * 1024)
                {
                    firstMiBBack.TrySetResult();
                }
            }

            return (Hash: Convert.ToHexString(hash.GetHashAndReset()), End: await Client.ReadEndAsync(client, Patience.Settle));
        }, ct);

        await firstMiBBack.Task.WaitAsync(timeout, ct);
        await server.SendSignalAsync("TERM");
        await server.WaitForStdoutLineAsync(l => l.Contains("draining:", StringComparison.Ordinal), Patience.Short, "the drain has begun");
        var writtenAtDrain = Interlocked.Read(ref written);

        await writer;
        var (hash, end) = await reader;
        writtenAtDrain.Should().BeLessThan(total, "the client must still be sending when the drain begins, or this test proves nothing");
        hash.Should().Be(sent, "every byte sent before and after SIGTERM comes back");
        end.Should().Be("EOF", "once the echo is done and the client is quiet, the drain closes it in order");
        await server.WaitForExitAsync(Patience.ProcessExit);
        server.ExitCode.Should().Be(0, server.Output);
        server.StdoutLines.Should().NotContain(l => l.Contains("shutdown timeout reached", StringComparison.Ordinal));
    }

    /// <summary>Runs <paramref name="action"/> on a thread of its own (not the pool), as a task.</summary>
    private static Task RunOnThread(Action action)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            try
            {
                action();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        }) { IsBackground = true }.Start();
        return done.Task;
    }

    [Fact]
    public async Task An_idle_client_does_not_hold_up_SIGTERM_even_with_a_long_shutdown_timeout()
    {
        await using var server = await ServerProcess.StartAsync("--shutdown-timeout", "10s");
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "then quiet\n");

        var clock = Stopwatch.StartNew();
        await server.SendSignalAsync("TERM");
        var end = await Client.ReadEndAsync(client, Patience.Short);
        await server.WaitForExitAsync(Patience.ProcessExit);
        clock.Stop();

        end.Should().Be("EOF");
        server.ExitCode.Should().Be(0, server.Output);
        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(2), "a quiet connection is closed at once, not at the shutdown timeout");
    }

    [Fact]
    public async Task A_client_that_never_stops_is_closed_at_the_shutdown_timeout_and_the_server_exits_0()
    {
        await using var server = await ServerProcess.StartAsync("--shutdown-timeout", "1s");
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "start\n");
        using var ticker = new Ticker(client, TimeSpan.FromMilliseconds(50));

        var clock = Stopwatch.StartNew();
        await server.SendSignalAsync("TERM");
        await server.WaitForExitAsync(Patience.ProcessExit);
        clock.Stop();

        server.ExitCode.Should().Be(0, server.Output);
        clock.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(900), "a client sending every 50 ms is never quiet, so only the deadline ends it")
            .And.BeLessThan(TimeSpan.FromSeconds(3), "--shutdown-timeout 1s");
        server.StdoutLines.Should().Contain(l => l.Contains("shutdown timeout reached: closing 1 connection(s)", StringComparison.Ordinal), server.Output);
        (await ticker.Ended.WaitAsync(Patience.Short, TestContext.Current.CancellationToken))
            .Should().NotBe("cancelled", "the client sees its connection end");
        ticker.Sent.Should().BeGreaterThan(10);
    }

    [Fact]
    public async Task A_second_SIGTERM_during_the_drain_ends_the_process_at_once()
    {
        await using var server = await ServerProcess.StartAsync("--shutdown-timeout", "30s");
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "start\n");
        using var ticker = new Ticker(client, TimeSpan.FromMilliseconds(50));

        await server.SendSignalAsync("TERM");
        await server.WaitForStdoutLineAsync(l => l.Contains("draining:", StringComparison.Ordinal), Patience.Short, "the drain has begun");
        server.HasExited.Should().BeFalse("the busy client holds the drain open for up to 30 s");

        var clock = Stopwatch.StartNew();
        await server.SendSignalAsync("TERM");
        await server.WaitForExitAsync(Patience.ProcessExit);
        clock.Stop();

        clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(1), "a second signal ends the process at once");
        server.ExitCode.Should().NotBe(0, "the process was killed by the signal, not drained ({0})", server.Output);
    }

    /// <summary>
    /// A client that sends one byte every <c>period</c> on its own thread (so a busy thread pool cannot make it
    /// look quiet) and reads the echoes, until the connection ends or it is disposed.
    /// </summary>
    private sealed class Ticker : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Thread _sender;
        private readonly Task _reader;
        private int _sent;

        public Ticker(Socket socket, TimeSpan period)
        {
            _sender = new Thread(() =>
            {
                try
                {
                    while (!_stop.IsCancellationRequested)
                    {
                        socket.Send("t"u8);
                        Interlocked.Increment(ref _sent);
                        _stop.Token.WaitHandle.WaitOne(period); // pacing, not synchronisation
                    }
                }
                catch (SocketException)
                {
                    // The server closed the connection; the reader reports how.
                }
                catch (ObjectDisposedException)
                {
                }
            }) { IsBackground = true, Name = "ticker" };
            _sender.Start();
            _reader = Task.Run(async () =>
            {
                var buffer = new byte[256];
                try
                {
                    while (await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token) > 0)
                    {
                    }

                    _ended.TrySetResult("EOF");
                }
                catch (SocketException e)
                {
                    _ended.TrySetResult(e.SocketErrorCode.ToString());
                }
                catch (OperationCanceledException)
                {
                    _ended.TrySetResult("cancelled");
                }
            });
        }

        public int Sent => Volatile.Read(ref _sent);

        /// <summary>How the connection ended: "EOF", a socket error, or "cancelled" if the ticker was disposed first.</summary>
        public Task<string> Ended => _ended.Task;

        public void Dispose()
        {
            _stop.Cancel();
            _sender.Join(Patience.Short);
            _reader.Wait(Patience.Short);
            _stop.Dispose();
        }
    }
}
