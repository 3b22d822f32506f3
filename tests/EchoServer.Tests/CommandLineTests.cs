using System.Net;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>Exit codes and one-line errors: 2 for a wrong command line, 1 when the server cannot start, 0 for help.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData("127.0.0.1:99999")]
    [InlineData("nonsense")]
    [InlineData("::1:9000")]
    [InlineData("999.1.1.1:80")]
    [InlineData("unix:")]
    [InlineData("unix:/tmp/a-unix-socket-path-longer-than-sun-path-holds-on-any-system-0123456789-0123456789-0123456789-0123456789.sock")]
    public async Task A_bad_bind_value_exits_2_with_one_line_naming_it(string value)
    {
        await using var server = await ServerProcess.RunToExitAsync("--bind", value);

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output)
            .Which.Should().Contain($"'{value}'");
        server.Output.Should().NotContain("   at ", "errors must not be stack traces");
    }

    [Theory]
    [InlineData("--bind", "127.0.0.1:0", "--bind")]
    [InlineData("--idle-timeout", "1s", "--idle-timeout")]
    [InlineData("--bind")]
    [InlineData("--max-connections", "10", "--bind", "127.0.0.1:0", "--max-connections")]
    [InlineData("--log-level", "Debug", "--reactors")]
    [InlineData("--stats-interval", "1s", "--udp", "--stats-interval")]
    public async Task An_option_given_without_its_value_exits_2_wherever_it_stands(params string[] args)
    {
        await using var server = await ServerProcess.RunToExitAsync(args);

        server.ExitCode.Should().Be(2, server.Output);
        // Ours ("--bind needs a value each time it is given") or System.CommandLine's own for a single occurrence
        // ("Required argument missing for option: '--bind'"): either names the option.
        var option = args[^1];
        server.StderrLines.Should().Contain(line => line.Contains(option, StringComparison.Ordinal)
            && (line.Contains("needs a value", StringComparison.Ordinal) || line.Contains("argument missing", StringComparison.Ordinal)), server.Output);
        server.ListeningAddresses.Should().BeEmpty("the server must not start");
        server.Output.Should().NotContain("   at ");
    }

    [Theory]
    [InlineData("--max-pending-bytes", "0")]
    [InlineData("--max-pending-bytes", "-1")]
    [InlineData("--max-pending-bytes", "lots")]
    [InlineData("--max-pending-bytes", "64KB")]
    [InlineData("--max-pending-bytes", "1.5MiB")]
    [InlineData("--max-pending-bytes", "99999999999999999999")]
    [InlineData("--max-pending-bytes", "9000000000GiB")]
    [InlineData("--max-pending-bytes", "2GiB")]
    [InlineData("--socket-buffers", "0")]
    [InlineData("--socket-buffers", "-64KiB")]
    [InlineData("--socket-buffers", "1KiB")]
    [InlineData("--socket-buffers", "2GiB")]
    [InlineData("--socket-buffers", "big")]
    [InlineData("--keepalive", "0")]
    [InlineData("--keepalive", "-1m")]
    [InlineData("--keepalive", "soon")]
    [InlineData("--keepalive", "500ms")]
    [InlineData("--keepalive", "1m:0s")]
    [InlineData("--keepalive", "1m:15s:0")]
    [InlineData("--keepalive", "1m:15s:128")]
    [InlineData("--keepalive", "1m:15s:4:1")]
    [InlineData("--keepalive", "10h")]
    [InlineData("--max-pending-total", "0")]
    [InlineData("--max-pending-total", "-1")]
    [InlineData("--max-pending-total", "plenty")]
    [InlineData("--max-pending-total", "64MB")]
    [InlineData("--max-pending-total", "1024")]
    public async Task A_bad_size_or_keepalive_exits_2_with_one_line_naming_the_option_and_value(string option, string value)
    {
        await using var server = await ServerProcess.RunToExitAsync(option, value);

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Where(l => !l.StartsWith("Try '", StringComparison.Ordinal)).Should().ContainSingle(server.Output)
            .Which.Should().Contain(option).And.ContainAny(value, "2147483647", "1073741824");
        server.ListeningAddresses.Should().BeEmpty();
        server.Output.Should().NotContain("   at ");
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("many")]
    [InlineData("1.5")]
    public async Task A_bad_per_address_limit_exits_2_with_one_line_naming_it(string value)
    {
        await using var server = await ServerProcess.RunToExitAsync("--max-connections-per-address", value);

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Where(l => !l.StartsWith("Try '", StringComparison.Ordinal)).Should().ContainSingle(server.Output)
            .Which.Should().Contain("--max-connections-per-address");
        server.ListeningAddresses.Should().BeEmpty();
        server.Output.Should().NotContain("   at ");
    }

    [Fact]
    public async Task Udp_with_only_a_unix_socket_exits_2()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "on Windows the unix socket is refused first (WineEchoTests checks that)");
        await using var server = await ServerProcess.RunToExitAsync("--bind", "unix:/tmp/echoserver-never-bound.sock", "--udp");

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain("--udp needs an IP address");
    }

    [Fact]
    public async Task The_same_address_twice_exits_2()
    {
        await using var server = await ServerProcess.RunToExitAsync("--bind", "127.0.0.1:9000", "--bind", "127.0.0.1:9000");

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain("given twice");
    }

    [Fact]
    public async Task An_unknown_option_exits_2()
    {
        await using var server = await ServerProcess.RunToExitAsync("--no-such-option");

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().Contain(line => line.Contains("--no-such-option", StringComparison.Ordinal), server.Output);
        server.Output.Should().NotContain("   at ");
    }

    [Fact]
    public async Task A_port_in_use_exits_1_with_one_line_naming_the_address()
    {
        using var holder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var address = $"127.0.0.1:{((IPEndPoint)holder.LocalEndpoint).Port}";

        await using var server = await ServerProcess.RunToExitAsync("--bind", address);

        server.ExitCode.Should().Be(1, server.Output);
        var line = server.StderrLines.Should().ContainSingle(server.Output).Which;
        line.Should().Contain(address).And.Contain("address already in use");
        server.Output.Should().NotContain("   at ");
    }

    [Fact]
    public async Task With_udp_the_error_names_the_protocol_whose_port_is_taken()
    {
        using var tcpHolder = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        tcpHolder.Start();
        var tcpTaken = $"127.0.0.1:{((IPEndPoint)tcpHolder.LocalEndpoint).Port}";
        await using var tcpServer = await ServerProcess.RunToExitAsync("--bind", tcpTaken, "--udp");
        tcpServer.ExitCode.Should().Be(1, tcpServer.Output);
        tcpServer.StderrLines.Should().ContainSingle(tcpServer.Output)
            .Which.Should().Contain($"cannot listen on {tcpTaken}").And.NotContain("UDP");

        // Only the UDP port is held here, but the same TCP port number may be a concurrent test's client port
        // (the two ephemeral ranges are one): then the TCP bind fails first, and the case is tried on another port.
        for (var attempt = 1; ; attempt++)
        {
            using var udpHolder = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var udpTaken = $"127.0.0.1:{((IPEndPoint)udpHolder.Client.LocalEndPoint!).Port}";
            await using var udpServer = await ServerProcess.RunToExitAsync("--bind", udpTaken, "--udp");
            var tcpCollision = udpServer.StderrLines.Any(l => l.Contains($"cannot listen on {udpTaken}", StringComparison.Ordinal));
            if (tcpCollision && attempt < 5)
            {
                continue;
            }

            udpServer.ExitCode.Should().Be(1, udpServer.Output);
            udpServer.StderrLines.Should().ContainSingle(udpServer.Output)
                .Which.Should().Contain($"cannot listen on UDP {udpTaken}");
            break;
        }
    }

    [Fact]
    public async Task Help_exits_0_and_lists_the_options()
    {
        await using var server = await ServerProcess.RunToExitAsync("--help");

        server.ExitCode.Should().Be(0, server.Output);
        var help = string.Join('\n', server.StdoutLines);
        help.Should().Contain("--bind").And.Contain("--max-pending-bytes").And.Contain("--log-level").And.Contain("--zero-copy <on|off>");
        help.Should().Contain("more than once").And.Contain("LISTEN_FDS").And.Contain("NOTIFY_SOCKET").And.Contain("WATCHDOG_USEC");
        help.Should().Contain("urgent byte (MSG_OOB) comes back inline", "what the echo does with urgent data is decided and said");
    }

    [Fact]
    public async Task A_zero_copy_value_other_than_on_or_off_exits_2()
    {
        await using var server = await ServerProcess.RunToExitAsync("--zero-copy", "maybe");

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().Contain(line => line.Contains("maybe", StringComparison.Ordinal), server.Output);
    }

    [Fact]
    public async Task With_zero_copy_off_the_server_echoes()
    {
        await using var server = await ServerProcess.StartAsync("--zero-copy", "off");

        await Client.AssertEchoesAsync(server, "no splice here\n");
    }

    [Fact]
    public async Task A_bad_unix_path_is_refused_before_any_socket_is_opened()
    {
        // Parsed once, on the command line: the valid TCP address before it is never bound (no 'listening on').
        var tooLong = "unix:/tmp/" + new string('s', 120);
        await using var server = await ServerProcess.RunToExitAsync("--bind", "127.0.0.1:0", "--bind", tooLong);

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain("at most").And.Contain("bytes");
        server.ListeningAddresses.Should().BeEmpty();
    }

    [Fact]
    public async Task Version_exits_0_and_prints_a_version()
    {
        await using var server = await ServerProcess.RunToExitAsync("--version");

        server.ExitCode.Should().Be(0, server.Output);
        server.StdoutLines.Should().Contain(line => line.Length > 0 && char.IsAsciiDigit(line[0]), server.Output);
    }
}
