using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

public sealed class UdpSocketTests : IDisposable
{
    private readonly UdpSocket _server;
    private readonly IPoller _poller;
    private readonly Socket _client;

    public UdpSocketTests()
    {
        _server = UdpSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _poller = PollerFactory.Create(PollerKind.Auto);
        _client = NewClient();
        _poller.Register(_server.Source, new Token(1), Interest.Readable);
    }

    [Fact]
    public void Bind_to_port_zero_reports_the_real_port()
    {
        _server.LocalEndPoint.Address.Should().Be(IPAddress.Loopback);
        _server.LocalEndPoint.Port.Should().BePositive();
    }

    [Fact]
    public void Receive_with_nothing_queued_would_block()
    {
        var n = _server.ReceiveFrom(new byte[16], out var source, out var errno);
        n.Should().Be(-1);
        errno.IsWouldBlock.Should().BeTrue();
        source.HasValue.Should().BeFalse();
    }

    [Fact]
    public void Datagram_is_received_with_its_source_and_answered()
    {
        _client.SendTo("hello"u8.ToArray(), _server.LocalEndPoint);
        var buffer = new byte[1500];
        var n = ReceiveOne(buffer, out var source);

        n.Should().Be(5);
        buffer.AsSpan(0, n).SequenceEqual("hello"u8).Should().BeTrue();
        source.IsIPv4.Should().BeTrue();
        source.Port.Should().Be(((IPEndPoint)_client.LocalEndPoint!).Port);
        source.ToEndPoint().Should().Be((IPEndPoint)_client.LocalEndPoint!);

        _server.SendTo(buffer.AsSpan(0, n), source, out var errno).Should().Be(5, errno.ToString());
        var reply = new byte[1500];
        var got = _client.Receive(reply);
        reply.AsSpan(0, got).SequenceEqual("hello"u8).Should().BeTrue();
    }

    [Fact]
    public void Zero_byte_datagram_is_received_and_answered()
    {
        _client.SendTo([], _server.LocalEndPoint);
        var n = ReceiveOne(new byte[64], out var source);
        n.Should().Be(0);
        source.HasValue.Should().BeTrue();

        _server.SendTo([], source, out var errno).Should().Be(0, errno.ToString());
        _client.Receive(new byte[64]).Should().Be(0);
        _client.Available.Should().Be(0);
    }

    [Fact]
    public void A_datagram_longer_than_the_buffer_is_truncated_to_it_and_the_rest_discarded()
    {
        _client.SendTo("0123456789"u8.ToArray(), _server.LocalEndPoint);
        _client.SendTo("next"u8.ToArray(), _server.LocalEndPoint);
        var buffer = new byte[4];

        ReceiveOne(buffer, out var source).Should().Be(4, "the datagram is cut to the buffer");
        buffer.Should().Equal("0123"u8.ToArray());
        source.Port.Should().Be(((IPEndPoint)_client.LocalEndPoint!).Port);
        ReceiveOne(buffer, out _).Should().Be(4, "the next read is the next datagram, not the rest of the first");
        buffer.Should().Equal("next"u8.ToArray());
    }

    [Fact]
    public void Datagram_over_IPv6_is_received_with_its_source_and_answered()
    {
        Skips.When(Ipv6Loopback.SkipReason);
        using var server = UdpSocket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        using var client = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        client.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        server.LocalEndPoint.Address.Should().Be(IPAddress.IPv6Loopback);

        client.SendTo("over IPv6"u8.ToArray(), server.LocalEndPoint);
        var buffer = new byte[64];
        var n = -1;
        var source = default(DatagramAddress);
        Wait.Until(() => (n = server.ReceiveFrom(buffer, out source, out _)) >= 0, Patience.Short, "the datagram arrives");

        source.IsIPv6.Should().BeTrue();
        source.ToEndPoint().Should().Be((IPEndPoint)client.LocalEndPoint!);
        server.SendTo(buffer.AsSpan(0, n), source, out var errno).Should().Be(n, errno.ToString());
        var reply = new byte[64];
        reply.AsSpan(0, client.Receive(reply)).SequenceEqual("over IPv6"u8).Should().BeTrue();
    }

    [Fact]
    public void Addresses_compare_by_ip_and_port()
    {
        using var other = NewClient();
        _client.SendTo("a"u8.ToArray(), _server.LocalEndPoint);
        _client.SendTo("b"u8.ToArray(), _server.LocalEndPoint);
        other.SendTo("c"u8.ToArray(), _server.LocalEndPoint);
        var buffer = new byte[16];
        ReceiveOne(buffer, out var first);
        ReceiveOne(buffer, out var second);
        ReceiveOne(buffer, out var third);

        first.Should().Be(second);
        first.GetHashCode().Should().Be(second.GetHashCode());
        (first == second).Should().BeTrue();
        first.Should().NotBe(third);
        first.WithoutPort().Should().Be(third.WithoutPort());
        first.WithoutPort().GetHashCode().Should().Be(third.WithoutPort().GetHashCode());
        first.Should().Be(DatagramAddress.FromEndPoint((IPEndPoint)_client.LocalEndPoint!));
    }

    [Fact]
    public void Bind_to_a_taken_port_fails_with_address_in_use()
    {
        var act = () => UdpSocket.Bind(_server.LocalEndPoint);
        act.Should().Throw<SyscallException>().Which.Errno.IsAddressInUse.Should().BeTrue();
    }

    public void Dispose()
    {
        _client.Dispose();
        _poller.Deregister(_server.Source);
        _poller.Dispose();
        _server.Dispose();
    }

    private static Socket NewClient()
    {
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return client;
    }

    // Receives one datagram, waiting (bounded) on the poller whenever the socket has none queued.
    private int ReceiveOne(byte[] buffer, out DatagramAddress source)
    {
        var events = new PollEvent[4];
        var n = -1;
        var from = default(DatagramAddress);
        Wait.Until(
            () =>
            {
                n = _server.ReceiveFrom(buffer, out from, out var errno);
                if (n >= 0)
                {
                    return true;
                }

                errno.IsWouldBlock.Should().BeTrue(errno.ToString());
                _poller.Wait(events, 100);
                return false;
            },
            Patience.Short,
            "a datagram arrives");
        source = from;
        return n;
    }
}
