using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using TcpListener = EchoServer.Reactor.Net.TcpListener;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

/// <summary>
/// Sockets this process did not create: <see cref="SocketDescription"/> tells what a descriptor is, the
/// Adopt factories take one over (non-blocking, close-on-exec), and <see cref="UnixDatagramSocket"/> sends
/// to a path or an abstract name.
/// </summary>
public sealed class InheritedSocketTests : IDisposable
{
    private const int F_GETFD = 1; // the same on Linux, macOS and FreeBSD
    private readonly string _path = Path.Combine("/tmp", $"es-{Guid.NewGuid():N}"[..15] + ".sock");

    public InheritedSocketTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "inherited descriptors (systemd's LISTEN_FDS) are Unix's");
    }

    [Fact]
    public void The_socket_options_that_describe_a_socket_have_each_os_s_numbers()
    {
        // rust libc: linux_like/linux/arch/generic/mod.rs, bsd/apple/mod.rs, bsd/freebsdlike{,/freebsd}/mod.rs.
        (SocketInfoConstants.Linux.SO_TYPE, SocketInfoConstants.Linux.SO_ACCEPTCONN, SocketInfoConstants.Linux.SO_PROTOCOL, SocketInfoConstants.Linux.ENOTSOCK)
            .Should().Be((3, 30, 38, 88));
        (SocketInfoConstants.MacOS.SO_TYPE, SocketInfoConstants.MacOS.SO_ACCEPTCONN, SocketInfoConstants.MacOS.SO_PROTOCOL, SocketInfoConstants.MacOS.ENOTSOCK)
            .Should().Be((0x1008, 0x0002, 0, 38));
        (SocketInfoConstants.FreeBSD.SO_TYPE, SocketInfoConstants.FreeBSD.SO_ACCEPTCONN, SocketInfoConstants.FreeBSD.SO_PROTOCOL, SocketInfoConstants.FreeBSD.ENOTSOCK)
            .Should().Be((0x1008, 0x0002, 0x1016, 38));
    }

    [Fact]
    public void Describe_tells_listening_tcp_bound_udp_unix_and_what_is_not_a_usable_socket()
    {
        using var tcp = TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var d = SocketDescription.Describe(tcp.Source.Fd);
        d.Should().Match<SocketDescription>(x => x.IsOpen && x.IsSocket && x.IsListening && x.IsTcpListener
            && x.Family == AddressFamily.InterNetwork && x.Type == SocketType.Stream);
        d.LocalEndPoint.Should().Be(tcp.LocalEndPoint);

        using var udp = UdpSocket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
        var u = SocketDescription.Describe(udp.Source.Fd);
        u.IsBoundUdp.Should().BeTrue();
        u.Family.Should().Be(AddressFamily.InterNetworkV6);
        u.Address.Should().Be(udp.LocalEndPoint.ToString());

        using var unix = UnixListener.Bind(_path);
        var x = SocketDescription.Describe(unix.Source.Fd);
        x.IsUnixListener.Should().BeTrue();
        x.Address.Should().Be($"unix:{_path}");

        using var connected = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        connected.Connect(tcp.LocalEndPoint);
        var c = SocketDescription.Describe((int)connected.SafeHandle.DangerousGetHandle());
        c.Should().Match<SocketDescription>(s => s.IsSocket && s.Type == SocketType.Stream && !s.IsListening && !s.IsTcpListener);

        using var unbound = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        SocketDescription.Describe((int)unbound.SafeHandle.DangerousGetHandle()).IsBoundUdp.Should().BeFalse("port 0: not bound");

        using var file = File.OpenRead("/dev/null");
        SocketDescription.Describe((int)file.SafeFileHandle.DangerousGetHandle()).Should().Match<SocketDescription>(s => s.IsOpen && !s.IsSocket);
        SocketDescription.Describe(1 << 30).IsOpen.Should().BeFalse("no process has that many descriptors");
    }

    [Fact]
    public void Adopt_makes_an_inherited_blocking_listener_non_blocking_and_close_on_exec_and_accepts_from_it()
    {
        var c = OsConstants.Current;
        // Not disposed: the adopted listener owns the fd (two owners would close it twice, the second time maybe
        // someone else's descriptor by then).
        var bound = TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var fd = bound.Source.Fd;

        // As systemd passes it: blocking, inherited across exec.
        Libc.Fcntl(fd, c.F_SETFL, 0).Should().NotBe(-1);
        Libc.Fcntl(fd, c.F_SETFD, 0).Should().NotBe(-1);

        using var adopted = TcpListener.Adopt(bound.Source);
        adopted.LocalEndPoint.Should().Be(bound.LocalEndPoint);
        (Libc.Fcntl(fd, c.F_GETFL, 0) & c.O_NONBLOCK).Should().NotBe(0);
        (Libc.Fcntl(fd, F_GETFD, 0) & c.FD_CLOEXEC).Should().NotBe(0);

        adopted.TryAccept(out _, out var empty).Should().BeFalse("a non-blocking listener with nobody waiting says EAGAIN instead of blocking");
        empty.IsWouldBlock.Should().BeTrue();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(adopted.LocalEndPoint);
        StreamSocket accepted = default;
        Wait.Until(() => adopted.TryAccept(out accepted, out _), Patience.Short, "the adopted listener accepts the client");

        accepted.Source.IsValid.Should().BeTrue();
        accepted.Dispose();

        var act = () => UdpSocket.Adopt(Source.FromFd(fd));
        act.Should().Throw<ArgumentException>("a TCP listener is not a UDP socket");
    }

    [Fact]
    public void An_adopted_unix_listener_leaves_the_socket_file_to_its_owner()
    {
        var owner = UnixListener.Bind(_path); // not disposed: the adopted listener owns (and closes) the fd
        var adopted = UnixListener.Adopt(owner.Source);
        adopted.LocalPath.Should().Be(_path);
        adopted.Dispose();
        File.Exists(_path).Should().BeTrue("the file belongs to whoever bound the socket");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_unix_datagram_reaches_a_path_or_an_abstract_name(bool isAbstract)
    {
        Assert.SkipWhen(isAbstract && !OperatingSystem.IsLinux(), "abstract unix socket names exist on Linux only");
        var address = isAbstract ? $"\0es-{Guid.NewGuid():N}" : _path;
        using var receiver = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        receiver.Bind(new UnixDomainSocketEndPoint(address));
        using var sender = UnixDatagramSocket.Open();

        sender.SendTo("READY=1"u8, address, out var errno).Should().Be(7, errno.ToString());

        var buffer = new byte[64];
        var n = receiver.Receive(buffer);
        buffer.AsSpan(0, n).ToArray().Should().Equal("READY=1"u8.ToArray());
        var empty = () => sender.SendTo("x"u8, "\0", out _);
        empty.Should().Throw<ArgumentException>("an abstract name needs at least one byte after the NUL");
    }

    public void Dispose() => File.Delete(_path);
}
