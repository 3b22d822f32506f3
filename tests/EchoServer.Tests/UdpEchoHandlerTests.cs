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

/// <summary>An event loop on a background thread serving UDP echo (and unix-socket echo) in process.</summary>
public sealed class UdpEchoHandlerTests : IDisposable
{

    private readonly EventLoop _loop;
    private readonly EchoContext _context = new(new EchoOptions(), NullLogger.Instance, new ConnectionGate(0));
    private readonly List<Socket> _clients = [];
    private UdpEchoHandler? _handler;
    private Thread? _thread;
    private IPEndPoint _server = new(IPAddress.Loopback, 0);

    public UdpEchoHandlerTests()
    {
        _loop = EventLoop.Create(PollerKind.Auto);
    }

    [Fact]
    public void Datagrams_come_back_to_their_sender_including_empty_ones()
    {
        Start(new UdpRateLimiter());
        var client = NewClient(0);

        client.SendTo("ping"u8.ToArray(), _server);
        ReceiveOne(client).Should().Equal("ping"u8.ToArray());
        client.SendTo([], _server);
        ReceiveOne(client).Should().BeEmpty();
        var big = new byte[8000];
        Random.Shared.NextBytes(big);
        client.SendTo(big, _server);
        ReceiveOne(client).Should().Equal(big);

        Wait.Until(() => _handler!.DatagramsEchoed == 3, Patience.Short, "three datagrams are echoed");
        _handler!.DroppedForbiddenPort.Should().Be(0);
        _handler.DroppedRateLimited.Should().Be(0);
        _handler.DroppedSendFailed.Should().Be(0);
    }

    [Fact]
    public async Task Datagram_from_source_port_7_gets_nothing_and_is_counted()
    {
        Start(new UdpRateLimiter());
        using var port7 = await SourcePort7.BindAsync(TestContext.Current.CancellationToken);
        var forbidden = port7.Socket;

        forbidden.SendTo("reflect me"u8.ToArray(), _server);
        Wait.Until(() => _handler!.DroppedForbiddenPort == 1, Patience.Short, "the datagram from port 7 is dropped and counted");

        // The loop has handled it; a reply, had there been one, would be queued on loopback by now. A normal
        // client's round trip afterwards makes sure the loop went on serving.
        var client = NewClient(0);
        client.SendTo("after"u8.ToArray(), _server);
        ReceiveOne(client).Should().Equal("after"u8.ToArray());
        forbidden.Available.Should().Be(0);

        // The loop counts an echo after sendto returns, so the client can hold the reply before the count moves.
        Wait.Until(() => _handler!.DatagramsEchoed >= 1, Patience.Short, "the normal client's echo is counted");
        _handler!.DatagramsEchoed.Should().Be(1, "the datagram from port 7 was not echoed");
    }

    [Fact]
    public void Flood_from_one_source_beyond_the_burst_is_rate_limited_and_counted()
    {
        const int burst = 5;
        const int sent = 50;
        Start(new UdpRateLimiter(ratePerSecond: 1, burst: burst));
        var flooder = NewClient(0);
        var started = Stopwatch.StartNew();
        for (var i = 0; i < sent; i++)
        {
            flooder.SendTo([(byte)i], _server);
        }

        Wait.Until(() => _handler!.DatagramsEchoed + _handler.DroppedRateLimited == sent, Patience.Short, "every datagram is handled");
        var refill = (int)Math.Ceiling(started.Elapsed.TotalSeconds); // 1 token a second may have come back
        _handler!.DatagramsEchoed.Should().BeInRange(burst, burst + refill);
        _handler.DroppedRateLimited.Should().BeGreaterThanOrEqualTo(sent - burst - refill);

        // A second client on the same IP shares the flooder's bucket (the limit is per IP, not per port), and is served or counted.
        var sameHost = NewClient(0);
        sameHost.SendTo("x"u8.ToArray(), _server);
        Wait.Until(() => _handler.DatagramsEchoed + _handler.DroppedRateLimited == sent + 1, Patience.Short, "the next datagram is handled");
    }

    [Fact]
    public void Unix_socket_connection_echoes_through_the_echo_listener()
    {
        var path = Path.Combine("/tmp", $"es-{Guid.NewGuid():N}"[..15] + ".sock");
        var listener = UnixListener.Bind(path);
        var acceptor = new EchoListener(listener, _context);
        acceptor.Token = _loop.Register(listener.Source, Interest.Readable, acceptor);
        StartLoop();

        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        client.Connect(new UnixDomainSocketEndPoint(path));
        client.Send("hello over a unix socket"u8);
        var reply = new byte[64];
        var got = 0;
        while (got < 24)
        {
            var n = client.Receive(reply.AsSpan(got));
            n.Should().BePositive("the server should echo, not close");
            got += n;
        }

        reply.AsSpan(0, got).SequenceEqual("hello over a unix socket"u8).Should().BeTrue();
        client.Shutdown(SocketShutdown.Send);
        client.Receive(reply).Should().Be(0, "the server closes after echoing everything once the client finished");

        StopLoop();
        _loop.Dispose();
        File.Exists(path).Should().BeFalse("disposing the loop disposes the listener, which removes its socket file");
    }

    public void Dispose()
    {
        StopLoop();
        _loop.Dispose();
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private void Start(UdpRateLimiter limiter)
    {
        var socket = UdpSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _server = socket.LocalEndPoint;
        _handler = new UdpEchoHandler(socket, _context, limiter);
        _handler.Token = _loop.Register(socket.Source, Interest.Readable, _handler);
        StartLoop();
    }

    private void StartLoop()
    {
        _thread = new Thread(_loop.Run) { IsBackground = true, Name = "udp-echo-test-loop" };
        _thread.Start();
    }

    private void StopLoop()
    {
        if (_thread is null)
        {
            return;
        }

        _loop.Stop();
        _thread.Join(Patience.Short).Should().BeTrue("the loop should stop");
        _thread = null;
    }

    private Socket NewClient(int port)
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        try
        {
            client.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch
        {
            client.Dispose();
            throw;
        }

        _clients.Add(client);
        return client;
    }

    private static byte[] ReceiveOne(Socket client)
    {
        var buffer = new byte[65536];
        var n = client.Receive(buffer); // bounded by ReceiveTimeout
        return buffer.AsSpan(0, n).ToArray();
    }
}
