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
/// thread that runs the loop can be read. Small messages go through read/write; 64 KiB messages switch the
/// connections to splice(2) on Linux, so both echo paths are covered.
/// </summary>
public sealed class ZeroAllocationTests
{
    private const int Clients = 8;

    [Theory]
    [InlineData(64, 2_000, 5_000, true)]
    [InlineData(64, 2_000, 5_000, false)]
    [InlineData(64 * 1024, 200, 500, true)]
    [InlineData(64 * 1024, 200, 500, false)]
    public async Task Echo_loop_allocates_nothing_per_message_in_steady_state(int messageBytes, int warmupRoundTrips, int measuredRoundTrips, bool zeroCopy)
    {
        using var loop = EventLoop.Create(PollerKind.Auto);
        var service = new EchoService(loop, new EchoContext(new EchoOptions { ZeroCopy = zeroCopy }, NullLogger.Instance, new ConnectionGate(0)));
        var listener = Reactor.Net.TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        service.AddListener(listener);
        var port = listener.LocalEndPoint.Port;

        long measureFrom = -1, measureTo = -1, splicedFrom = -1, splicedTo = -1;
        using var startMeasuring = new ManualResetEventSlim();
        using var stopMeasuring = new ManualResetEventSlim();
        var stop = false;
        var loopThread = new Thread(() =>
        {
            // 0: not yet, 1: measuring, 2: done. Once done, never again: a second start would overwrite
            // the starting reading and hide what was allocated while measuring.
            var phase = 0;
            while (!Volatile.Read(ref stop))
            {
                loop.RunOnce(50);
                if (phase == 0 && startMeasuring.IsSet)
                {
                    phase = 1;
                    measureFrom = GC.GetAllocatedBytesForCurrentThread();
                    splicedFrom = service.Context.Counters.BytesSpliced;
                }
                else if (phase == 1 && stopMeasuring.IsSet)
                {
                    // Keep turning afterwards: clients may still be waiting for echoes of this turn.
                    measureTo = GC.GetAllocatedBytesForCurrentThread();
                    splicedTo = service.Context.Counters.BytesSpliced;
                    phase = 2;
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
                    ReceiveTimeout = (int)Patience.Io.TotalMilliseconds, // a lost echo fails the test instead of hanging it
                };
                await sockets[i].ConnectAsync(IPAddress.Loopback, port, TestContext.Current.CancellationToken);
            }

            await Task.Run(() => RoundTrips(sockets, warmupRoundTrips, messageBytes), TestContext.Current.CancellationToken);
            startMeasuring.Set();
            await Task.Run(() => RoundTrips(sockets, 1, messageBytes), TestContext.Current.CancellationToken); // one turn so the loop has taken its starting reading
            await Task.Run(() => RoundTrips(sockets, measuredRoundTrips, messageBytes), TestContext.Current.CancellationToken);
            stopMeasuring.Set();
            await Task.Run(() => RoundTrips(sockets, 1, messageBytes), TestContext.Current.CancellationToken); // one turn so the loop takes the final reading
            Volatile.Write(ref stop, true);
            loop.Stop();
            loopThread.Join(Patience.Settle).Should().BeTrue("the loop thread stops when asked");
        }
        finally
        {
            Volatile.Write(ref stop, true);
            loop.Stop();
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }

            loopThread.Join(Patience.Settle);
        }

        measureFrom.Should().BeGreaterThanOrEqualTo(0);
        measureTo.Should().BeGreaterThanOrEqualTo(0);
        // Not exactly 0: the tiered JIT now and then allocates one 64-byte object on the thread whose method
        // it promotes (seen with and without this project's changes; never with DOTNET_TieredCompilation=0).
        // That is once, not per message: the smallest object is 24 bytes, so allocating on every message
        // would show as at least 24 B x the messages measured (here ≥ 96 KiB), far above this bound.
        (measureTo - measureFrom).Should().BeLessThan(1024,
            $"{measuredRoundTrips} round trips on each of {Clients} connections must not allocate on the loop thread");
        service.Context.Counters.BytesSent.Should().Be(service.Context.Counters.BytesReceived);
        if (zeroCopy && messageBytes >= new EchoOptions().SpliceThresholdBytes && Reactor.Net.SplicePipe.IsSupported)
        {
            (splicedTo - splicedFrom).Should().BeGreaterThan((long)measuredRoundTrips * Clients * messageBytes / 2,
                $"large messages must have taken the splice path while measured (spliced in all {service.Context.Counters.BytesSpliced}, received {service.Context.Counters.BytesReceived}, pipes {service.Context.Pipes?.OpenPipes})");
        }

        loop.Dispose();
        service.Context.Dispose();
    }

    private static void RoundTrips(Socket[] sockets, int count, int messageBytes)
    {
        var send = new byte[messageBytes];
        var receive = new byte[messageBytes];
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
