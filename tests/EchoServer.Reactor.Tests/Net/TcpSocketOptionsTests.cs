using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

/// <summary>Keepalive, the unacknowledged-data bound and buffer sizes, read back from the kernel with getsockopt.</summary>
public sealed class TcpSocketOptionsTests
{
    private static readonly OsConstants C = OsConstants.Current;
    private static readonly TcpOptionConstants T = TcpOptionConstants.Current;

    [Fact]
    public void Keepalive_sets_the_switch_idle_interval_and_count_in_whole_seconds_rounded_up()
    {
        using var pair = TcpPair.Open();

        pair.Accepted.SetKeepAlive(TimeSpan.FromMilliseconds(2500), TimeSpan.FromSeconds(1), 3).Should().Be(Errno.None);

        Read(pair.Accepted, C.SOL_SOCKET, T.SO_KEEPALIVE).Should().NotBe(0);
        Read(pair.Accepted, C.IPPROTO_TCP, T.TCP_KEEPIDLE).Should().Be(3);
        Read(pair.Accepted, C.IPPROTO_TCP, T.TCP_KEEPINTVL).Should().Be(1);
        Read(pair.Accepted, C.IPPROTO_TCP, T.TCP_KEEPCNT).Should().Be(3);
    }

    [Fact]
    public void Keepalive_values_outside_what_every_os_takes_throw()
    {
        using var pair = TcpPair.Open();
        var socket = pair.Accepted;

        FluentActions.Invoking(() => socket.SetKeepAlive(TimeSpan.Zero, TimeSpan.FromSeconds(1), 3)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => socket.SetKeepAlive(TimeSpan.FromSeconds(1), TimeSpan.FromHours(10), 3)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => socket.SetKeepAlive(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 0)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => socket.SetKeepAlive(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 128)).Should().Throw<ArgumentOutOfRangeException>();
        FluentActions.Invoking(() => socket.SetUnacknowledgedTimeout(TimeSpan.FromSeconds(-1))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void The_unacknowledged_timeout_is_set_in_the_units_of_the_os()
    {
        using var pair = TcpPair.Open();

        pair.Accepted.SetUnacknowledgedTimeout(TimeSpan.FromMilliseconds(4500)).Should().Be(Errno.None);

        // Linux keeps milliseconds; the BSDs whole seconds, rounded up.
        Read(pair.Accepted, C.IPPROTO_TCP, T.UnacknowledgedTimeout).Should().Be(OperatingSystem.IsLinux() ? 4500 : 5);
    }

    [Fact]
    public void Keepalive_on_a_unix_socket_is_an_error_not_an_exception()
    {
        var path = Path.Combine("/tmp", $"es-{Guid.NewGuid():N}"[..15] + ".sock");
        try
        {
            using var listener = UnixListener.Bind(path, 4);
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            StreamSocket accepted = default;
            Wait.Until(() => listener.TryAccept(out accepted, out _), Patience.Short, "the unix listener accepts");
            using var server = accepted;

            server.SetKeepAlive(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), 1).Value.Should().NotBe(0);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Sockets_accepted_after_the_listener_sets_its_buffers_have_those_buffers()
    {
        const int asked = 48 * 1024; // under the default net.core.rmem_max / wmem_max (212992)
        using var plainPair = TcpPair.Open();
        plainPair.Accepted.GetBufferSizes(out var plainReceive, out _).Should().Be(Errno.None);

        using var listener = Loopback.Listen();
        listener.SetBufferSizes(asked, asked).Should().Be(Errno.None);
        using var peer = StreamSocket.Connect(listener.LocalEndPoint);
        using var accepted = Loopback.AcceptWithin(listener);

        accepted.GetBufferSizes(out var receive, out var send).Should().Be(Errno.None);
        var expected = OperatingSystem.IsLinux() ? 2 * asked : asked; // Linux doubles it for its bookkeeping
        receive.Should().Be(expected, "the accepted socket inherits the listener's SO_RCVBUF");
        send.Should().Be(expected, "and its SO_SNDBUF");
        plainReceive.Should().NotBe(expected, "without the call the kernel's default applies, so the check above can fail");
    }

    [Fact]
    public void A_connected_socket_takes_buffer_sizes_too_and_zero_leaves_one_alone()
    {
        using var pair = TcpPair.Open();
        pair.Peer.GetBufferSizes(out _, out var sendBefore).Should().Be(Errno.None);

        pair.Peer.SetBufferSizes(32 * 1024, 0).Should().Be(Errno.None);

        pair.Peer.GetBufferSizes(out var receive, out var send).Should().Be(Errno.None);
        receive.Should().Be(OperatingSystem.IsLinux() ? 64 * 1024 : 32 * 1024);
        send.Should().Be(sendBefore);
    }

    private static int Read(StreamSocket socket, int level, int name)
    {
        Libc.GetSocketOption(socket.Source.Fd, level, name, out var value).Should().Be(Errno.None);
        return value;
    }
}
