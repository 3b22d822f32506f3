using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;

namespace EchoServer.Tests;

/// <summary>
/// accept(2) failing with EMFILE (the case the descriptor headroom cannot rule out: descriptors opened
/// elsewhere, or no limit): the listener retries on a doubling timer instead of spinning, then serves.
/// A real listener supplies the readiness; its first accepts are made to fail.
/// </summary>
public sealed class EchoListenerBackoffTests
{
    [Fact]
    public async Task Accept_failing_with_EMFILE_is_retried_on_a_doubling_timer_not_in_a_loop_then_the_client_is_served()
    {
        const int failures = 4; // retries after 10, 20, 40 and 80 ms
        using var real = Reactor.Net.TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var failing = new FailingListener(real, failures);
        using var loop = EventLoop.Create(PollerKind.Auto);
        var service = new EchoService(loop, new EchoContext(new EchoOptions(), NullLogger.Instance, new ConnectionGate(0)));
        service.AddListener(failing);
        var thread = new Thread(loop.Run) { IsBackground = true, Name = "backoff-test-loop" };
        thread.Start();
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            var clock = Stopwatch.StartNew();
            await client.ConnectAsync(real.LocalEndPoint, TestContext.Current.CancellationToken);
            await Client.SendAllAsync(client, "x"u8.ToArray());
            (await Client.ReadExactlyAsync(client, 1, Patience.Settle)).Should().Equal("x"u8.ToArray());

            clock.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(10 + 20 + 40 + 80),
                "each failed accept waits out a doubling delay before the next");
            Volatile.Read(ref failing.Calls).Should().Be(failures + 2,
                "one accept per retry: the failures, the one that succeeds, and the one that finds the queue empty");
        }
        finally
        {
            loop.Stop();
            thread.Join(Patience.Settle).Should().BeTrue();
        }
    }

    private sealed class FailingListener(Reactor.Net.TcpListener real, int failures) : IStreamListener
    {
        public int Calls;

        public Source Source => real.Source;

        public bool TryAccept(out StreamSocket socket, out Errno errno)
        {
            if (Interlocked.Increment(ref Calls) <= failures)
            {
                socket = default;
                errno = new Errno(24); // EMFILE: 24 on Linux, macOS and FreeBSD alike
                return false;
            }

            return real.TryAccept(out socket, out errno);
        }

        public void Dispose() => real.Dispose();
    }
}
