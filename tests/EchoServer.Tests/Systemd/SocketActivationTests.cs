using System.Globalization;
using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>
/// Socket activation with the real <c>systemd-socket-activate</c>: it binds the sockets, and on the first
/// connection execs the server with them as fds 3, 4, … and LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES set.
/// </summary>
public sealed class SocketActivationTests
{

    public SocketActivationTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "systemd's variables are not read on Windows");
    }
    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Inherited_tcp_and_unix_listeners_are_served_without_bind_and_made_close_on_exec_and_non_blocking(PollerKind poller)
    {
        var path = SystemdTools.NewSocketPath("activated");
        try
        {
            var (server, port) = await SystemdTools.StartActivatorAsync(port => SystemdTools.ActivateArgs(
                [$"127.0.0.1:{port}", path], "web:local", datagram: false, ServerPollers.Environment(poller), [ServerProcess.ServerPath, .. ServerPollers.Arguments(poller)]));
            await using (server)
            {
                // The first connection makes the tool exec the server; it waits in the kernel's queue meanwhile.
                using var first = await Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                await server.WaitUntilListeningAsync();
                await Client.AssertEchoesAsync(first, "the connection that started the server\n");
                server.Port.Should().Be(port);
                await server.WaitForStdoutLineAsync(l => l.Contains($"listening on unix:{path} (", StringComparison.Ordinal), Patience.ProcessStart,
                    "the unix listener is announced");
                server.StdoutLines.Should().Contain(l => l.Contains($"listening on 127.0.0.1:{port} (", StringComparison.Ordinal)
                    && l.Contains("inherited fd 3 \"web\"", StringComparison.Ordinal), server.Output);
                server.StdoutLines.Should().Contain(l => l.Contains("inherited fd 4 \"local\"", StringComparison.Ordinal), server.Output);

                using (var unix = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
                {
                    await unix.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
                    await Client.AssertEchoesAsync(unix, "over the inherited unix socket\n");
                }

                // systemd passes the fds without FD_CLOEXEC and usually blocking; the server sets both flags.
                foreach (var fd in new[] { 3, 4 })
                {
                    var flags = FdFlags(server.Pid, fd);
                    (flags & OCloexec).Should().NotBe(0, "fd {0} must be close-on-exec ({1})", fd, Convert.ToString(flags, 8));
                    (flags & ONonblock).Should().NotBe(0, "fd {0} must be non-blocking ({1})", fd, Convert.ToString(flags, 8));
                }

                await server.SendSignalAsync("TERM");
                await server.WaitForExitAsync(Patience.ProcessExit);
                server.ExitCode.Should().Be(0, server.Output);
                server.StdoutLines.Should().Contain(l => l.Contains($"connections per listener: 127.0.0.1:{port}=1, unix:{path}=1", StringComparison.Ordinal),
                    server.Output);
                File.Exists(path).Should().BeTrue("the socket file belongs to the service manager that made it, not to the server");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task An_inherited_udp_socket_is_echoed_as_with_udp(PollerKind poller)
    {
        var (server, port) = await SystemdTools.StartActivatorAsync(port => SystemdTools.ActivateArgs(
            [$"127.0.0.1:{port}"], null, datagram: true, ServerPollers.Environment(poller), [ServerProcess.ServerPath, .. ServerPollers.Arguments(poller)]));
        await using (server)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var target = new IPEndPoint(IPAddress.Loopback, port);

            // The first datagram makes the tool exec the server, which then finds it queued on the socket.
            await udp.SendToAsync("wake up\n"u8.ToArray(), SocketFlags.None, target, TestContext.Current.CancellationToken);
            var buffer = new byte[256];
            using var cts = new CancellationTokenSource(Patience.ProcessStart);
            var result = await udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            buffer.AsSpan(0, result.ReceivedBytes).ToArray().Should().Equal("wake up\n"u8.ToArray());
            result.RemoteEndPoint.Should().Be(target);
            server.StdoutLines.Should().Contain(l => l.Contains($"echoing UDP datagrams on 127.0.0.1:{port} (inherited fd 3)", StringComparison.Ordinal),
                server.Output);
        }
    }

    [Fact]
    public async Task Udp_without_a_bind_address_under_socket_activation_is_a_usage_error()
    {
        var (server, port) = await SystemdTools.StartActivatorAsync(port => SystemdTools.ActivateArgs(
            [$"127.0.0.1:{port}"], null, datagram: false, null, ServerProcess.ServerPath, "--udp"));
        await using (server)
        {
            using var trigger = await Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await server.WaitForExitAsync(Patience.ProcessExit);

            server.ExitCode.Should().Be(2, server.Output);
            server.StderrLines.Where(l => l.StartsWith("echoserver:", StringComparison.Ordinal)).Should().ContainSingle(server.Output)
                .Which.Should().Contain("ListenDatagram=");
        }
    }

    public static TheoryData<string, string> WrongDescriptors => new()
    {
        // fd 3 a listening TCP socket from the tool, fd 4 a plain file: nothing may be served.
        { "exec 4</dev/null; LISTEN_FDS=2 LISTEN_PID=$$ exec \"$0\"", "inherited fd 4 is not a socket" },
        { "LISTEN_FDNAMES=a:b:c LISTEN_PID=$$ exec \"$0\"", "LISTEN_FDNAMES names 3 descriptor(s) but LISTEN_FDS says 1" },
        { "LISTEN_FDS=many LISTEN_PID=$$ exec \"$0\"", "LISTEN_FDS='many' is not a number" },
    };

    [Theory]
    [MemberData(nameof(WrongDescriptors))]
    public async Task A_wrong_inherited_descriptor_is_one_line_and_exit_1_before_anything_is_served(string shell, string expected)
    {
        var bash = SystemdTools.Find("bash");
        Assert.SkipWhen(bash is null, "bash is not installed");
        var (server, port) = await SystemdTools.StartActivatorAsync(port => SystemdTools.ActivateArgs(
            [$"127.0.0.1:{port}"], null, datagram: false, null, bash!, "-c", shell, ServerProcess.ServerPath));
        await using (server)
        {
            using var trigger = await Client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
            await server.WaitForExitAsync(Patience.ProcessExit);

            server.ExitCode.Should().Be(1, server.Output);
            var errors = server.StderrLines.Where(l => l.StartsWith("echoserver:", StringComparison.Ordinal)).ToList();
            errors.Should().ContainSingle(server.Output).Which.Should().Contain(expected);
            server.Output.Should().NotContain("   at ", "errors must not be stack traces");
            server.ListeningAddresses.Should().BeEmpty("a wrong descriptor stops the server before any socket is served");
        }
    }

    [Theory]
    [InlineData("--seqpacket", "is a seqpacket socket")]
    [InlineData("--datagram", "is a unix datagram socket")]
    public async Task A_unix_socket_of_the_wrong_type_is_refused(string kind, string expected)
    {
        var tool = SystemdTools.Require("systemd-socket-activate");
        var path = SystemdTools.NewSocketPath("wrong");
        try
        {
            var args = SystemdTools.ActivateArgs([path], null, datagram: false, null, ServerProcess.ServerPath);
            args.Insert(0, kind);
            await using var server = ServerProcess.Start(tool, args);
            // The file appears at bind(2), before listen(2): wait for the tool's own "Listening on … as 3." line.
            await Wait.UntilAsync(() => server.StderrLines.Any(l => l.Contains($"{path} as 3", StringComparison.Ordinal)),
                Patience.ProcessStart, "the tool listens on the socket", () => server.Output);
            using var trigger = new Socket(AddressFamily.Unix, kind == "--datagram" ? SocketType.Dgram : SocketType.Seqpacket, ProtocolType.Unspecified);
            if (kind == "--datagram")
            {
                trigger.SendTo("wake"u8.ToArray(), new UnixDomainSocketEndPoint(path));
            }
            else
            {
                await trigger.ConnectAsync(new UnixDomainSocketEndPoint(path), TestContext.Current.CancellationToken);
            }

            await server.WaitForExitAsync(Patience.ProcessExit);
            server.ExitCode.Should().Be(1, server.Output);
            server.StderrLines.Where(l => l.StartsWith("echoserver:", StringComparison.Ordinal)).Should().ContainSingle(server.Output)
                .Which.Should().Contain("inherited fd 3").And.Contain(expected);
        }
        finally
        {
            File.Delete(path);
        }
    }

    // O_CLOEXEC and O_NONBLOCK as /proc/PID/fdinfo/FD prints them (octal, Linux asm-generic fcntl.h).
    private const int OCloexec = 0x80000;
    private const int ONonblock = 0x800;

    private static int FdFlags(int pid, int fd)
    {
        var info = $"/proc/{pid}/fdinfo/{fd}";
        Assert.SkipUnless(File.Exists("/proc/self/fdinfo/0"), "no /proc/PID/fdinfo on this OS to read descriptor flags from");
        var line = File.ReadLines(info).First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return Convert.ToInt32(line["flags:".Length..].Trim(), 8);
    }
}
