using System.Net;
using System.Net.Sockets;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;

namespace EchoServer.Tests;

/// <summary>
/// The echo path allocates nothing per message once warm: the loop thread's allocation counter does not
/// move across thousands of round trips. Runs the real EchoService in-process so the counter of the one
/// thread that runs the loop can be read.
/// </summary>
public sealed class ZeroAllocationTests
{
    private const int Clients = 8;
    private const int WarmupRoundTrips = 2_000;
    private const int MeasuredRoundTrips = 5_000;

    [Fact]
    public async Task Echo_loop_allocates_nothing_per_message_in_steady_state()
    {
        using var loop = new EventLoop(new EpollPoller());
        var service = new EchoService(loop, new EchoContext(new EchoOptions(), NullLogger.Instance, new ConnectionGate(0)));
        var listener = Reactor.Net.TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        service.AddListener(listener);
        var port = listener.LocalEndPoint.Port;

        long measureFrom = -1, measureTo = -1;
        using var startMeasuring = new ManualResetEventSlim();
        using var stopMeasuring = new ManualResetEventSlim();
        var stop = false;
        var loopThread = new Thread(() =>
        {
            var measuring = false;
            while (!Volatile.Read(ref stop))
            {
                loop.RunOnce(50);
                if (!measuring && startMeasuring.IsSet)
                {
                    measuring = true;
                    measureFrom = GC.GetAllocatedBytesForCurrentThread();
                }
                else if (measuring && stopMeasuring.IsSet)
                {
                    // Keep turning afterwards: clients may still be waiting for echoes of this turn.
                    measureTo = GC.GetAllocatedBytesForCurrentThread();
                    measuring = false;
                }
            }
        }) { IsBackground = true, Name = "loop-under-test" };
        loopThread.Start();

        var sockets = new Socket[Clients];
        try
        {
            for (var i = 0; i < Clients; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                {
                    NoDelay = true,
                    ReceiveTimeout = 10_000, // a lost echo fails the test instead of hanging it
                };
                await sockets[i].ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            }

            await Task.Run(() => RoundTrips(sockets, WarmupRoundTrips), TestContext.Current.CancellationToken);
            startMeasuring.Set();
            await Task.Run(() => RoundTrips(sockets, 1), TestContext.Current.CancellationToken); // one turn so the loop has taken its starting reading
            await Task.Run(() => RoundTrips(sockets, MeasuredRoundTrips), TestContext.Current.CancellationToken);
            stopMeasuring.Set();
            await Task.Run(() => RoundTrips(sockets, 1), TestContext.Current.CancellationToken); // one turn so the loop takes the final reading
            Volatile.Write(ref stop, true);
            loop.Stop();
            loopThread.Join(TimeSpan.FromSeconds(10)).Should().BeTrue("the loop thread stops when asked");
        }
        finally
        {
            Volatile.Write(ref stop, true);
            loop.Stop();
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }

            loopThread.Join(TimeSpan.FromSeconds(10));
        }

        measureFrom.Should().BeGreaterThanOrEqualTo(0);
        measureTo.Should().BeGreaterThanOrEqualTo(0);
        (measureTo - measureFrom).Should().Be(0,
            $"{MeasuredRoundTrips} round trips on each of {Clients} connections must not allocate on the loop thread");
        service.Context.Counters.BytesSent.Should().Be(service.Context.Counters.BytesReceived);
    }

    private static void RoundTrips(Socket[] sockets, int count)
    {
        var send = new byte[64];
        var receive = new byte[64];
        for (var round = 0; round < count; round++)
        {
            foreach (var socket in sockets)
            {
                send[0] = (byte)round;
                socket.Send(send);
            }

            foreach (var socket in sockets)
            {
                var got = 0;
                while (got < receive.Length)
                {
                    var n = socket.Receive(receive, got, receive.Length - got, SocketFlags.None);
                    if (n == 0)
                    {
                        throw new IOException("the server closed the connection");
                    }

                    got += n;
                }

                if (receive[0] != (byte)round)
                {
                    throw new IOException($"echo out of order: expected {(byte)round}, got {receive[0]}");
                }
            }
        }
    }
}
