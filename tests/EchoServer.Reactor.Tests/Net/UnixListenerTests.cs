using System.Net.Sockets;
using System.Text;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

public sealed class UnixListenerTests : IDisposable
{
    private readonly string _path = Path.Combine("/tmp", $"es-{Guid.NewGuid():N}"[..15] + ".sock");

    public UnixListenerTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the library's unix sockets are libc's; on Windows it serves TCP only");
    }

    [Fact]
    public unsafe void Sockaddr_un_has_the_size_of_sys_un_h()
    {
        sizeof(SockAddrUn).Should().Be(110);
        UnixSocketConstants.AF_UNIX.Should().Be(1);
        UnixSocketConstants.SunPathLength.Should().Be(OperatingSystem.IsLinux() ? 108 : 104);
    }

    [Fact]
    public void Accepted_unix_connection_echoes()
    {
        using var listener = UnixListener.Bind(_path, 16);
        listener.LocalPath.Should().Be(_path);
        using var poller = PollerFactory.Create(PollerKind.Auto);
        poller.Register(listener.Source, new Token(1), Interest.Readable);

        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        client.Connect(new UnixDomainSocketEndPoint(_path));

        StreamSocket accepted = default;
        WaitUntil(poller, () => listener.TryAccept(out accepted, out var e) || NotYet(e), "the listener accepts the client");
        using var server = accepted;
        poller.Register(server.Source, new Token(2), Interest.Readable);

        client.Send("over unix"u8);
        var buffer = new byte[64];
        var n = -1;
        WaitUntil(poller, () => (n = server.Read(buffer, out var e)) >= 0 || NotYet(e), "the accepted socket has the client's bytes");
        server.Write(buffer.AsSpan(0, n), out var errno).Should().Be(n, errno.ToString());

        var reply = new byte[64];
        var got = client.Receive(reply);
        Encoding.UTF8.GetString(reply, 0, got).Should().Be("over unix");
        poller.Deregister(server.Source);
        poller.Deregister(listener.Source);
    }

    [Fact]
    public void Dispose_removes_the_socket_file()
    {
        var listener = UnixListener.Bind(_path);
        File.Exists(_path).Should().BeTrue();
        listener.Dispose();
        File.Exists(_path).Should().BeFalse();
    }

    [Fact]
    public void Stale_socket_file_with_no_listener_is_replaced()
    {
        // Bind a socket to the path and close it without unlinking: what a crashed server leaves behind.
        var length = SockAddrUn.Encode(_path, out var addr);
        var fd = Libc.Socket(UnixSocketConstants.AF_UNIX, OsConstants.Current.SOCK_STREAM, out var errno);
        fd.Should().BeGreaterThanOrEqualTo(0, errno.ToString());
        Libc.Bind(fd, addr, length).Value.Should().Be(0);
        Libc.Close(fd);
        File.Exists(_path).Should().BeTrue();

        using var listener = UnixListener.Bind(_path);
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(_path));
    }

    [Fact]
    public void Bind_fails_with_address_in_use_while_another_listener_listens()
    {
        using var first = UnixListener.Bind(_path);
        var act = () => UnixListener.Bind(_path);
        act.Should().Throw<SyscallException>()
            .Where(e => e.Errno.IsAddressInUse && e.Message.Contains("listening", StringComparison.Ordinal));

        // The first listener's file is untouched and still takes connections.
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(new UnixDomainSocketEndPoint(_path));
    }

    [Fact]
    public void Regular_file_at_the_path_is_not_deleted()
    {
        File.WriteAllText(_path, "keep me");
        var act = () => UnixListener.Bind(_path);
        act.Should().Throw<SyscallException>()
            .Where(e => e.Errno.IsAlreadyExists && e.Message.Contains("not a socket", StringComparison.Ordinal));
        File.ReadAllText(_path).Should().Be("keep me");
    }

    [Fact]
    public void Too_long_path_is_a_clear_error()
    {
        var path = "/tmp/" + new string('x', 200) + ".sock";
        var act = () => UnixListener.Bind(path);
        act.Should().Throw<ArgumentException>().WithMessage("*bytes long*at most*");
    }

    [Fact]
    public void Dispose_leaves_a_file_that_replaced_ours()
    {
        var listener = UnixListener.Bind(_path);
        File.Delete(_path);
        File.WriteAllText(_path, "someone else's");
        listener.Dispose();
        File.ReadAllText(_path).Should().Be("someone else's");
    }

    public void Dispose()
    {
        File.Delete(_path);
    }

    // A failed attempt must have failed only for now (EAGAIN); anything else fails the test.
    private static bool NotYet(Errno errno)
    {
        errno.IsWouldBlock.Should().BeTrue(errno.ToString());
        return false;
    }

    // Retries `attempt` until it succeeds, waiting on the poller in between (a short wait, so a readiness edge
    // consumed by an earlier wait costs a retry rather than the whole patience).
    private static void WaitUntil(IPoller poller, Func<bool> attempt, string what)
    {
        var events = new PollEvent[4];
        Wait.Until(
            () =>
            {
                if (attempt())
                {
                    return true;
                }

                poller.Wait(events, 100);
                return false;
            },
            Patience.Short,
            what);
    }
}
