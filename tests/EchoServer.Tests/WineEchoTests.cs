using System.Net;
using System.Net.Sockets;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// <c>echoserver.exe</c>, published self-contained for win-x64 (cached per source version, <see cref="WindowsPublish"/>),
/// run under Wine on the AFD poller and Winsock, driven from Linux over loopback. Skips with the reason where Wine
/// cannot run. Each case starts its own server; the first one waits for the publish (about a minute when the sources changed).
/// </summary>
public sealed class WineEchoTests
{
    private static readonly Lazy<Task<string>> Exe = new(PublishAndStartWineAsync);

    /// <summary>consolectrl.exe (tests/ConsoleCtrl): delivers the console events Wine's console never sends.</summary>
    private static readonly Lazy<Task<string>> ConsoleCtrl = new(() => WindowsPublish.PublishAsync(
        LibkqueueBuild.RepoRoot(), "consolectrl", "tests/ConsoleCtrl", "consolectrl.exe", ["tests/ConsoleCtrl"]));

    [Fact]
    public async Task Small_messages_and_1_MiB_of_random_bytes_come_back_exactly()
    {
        await using var server = await StartAsync();
        server.StdoutLines.Should().Contain(line => line.Contains("(afd, 1 reactor(s))"), "auto picks the AFD poller on Windows");
        using var client = await Client.ConnectAsync(server);
        foreach (var message in (string[])["hello\n", "x", "under Wine\r\n"])
        {
            await Client.AssertEchoesAsync(client, message);
        }

        var payload = new byte[1 << 20];
        new Random(862).NextBytes(payload);
        var sending = Client.SendAllAsync(client, payload, Patience.Bulk);
        var back = await Client.ReadExactlyAsync(client, payload.Length, Patience.Bulk);
        await sending;
        back.AsSpan().SequenceEqual(payload).Should().BeTrue("1 MiB comes back byte for byte");
    }

    [Fact]
    public async Task A_hundred_concurrent_clients_each_get_their_own_bytes_back()
    {
        await using var server = await StartAsync();
        var clients = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Client.ConnectAsync(server)));
        try
        {
            await Task.WhenAll(clients.Select((client, i) => Client.AssertEchoesAsync(client, $"client {i}: {new string((char)('a' + (i % 26)), 1000 + i)}\n", Patience.Bulk)));
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_client_that_shuts_down_its_sending_side_gets_every_byte_back_then_EOF()
    {
        await using var server = await StartAsync();
        using var client = await Client.ConnectAsync(server);
        var payload = new byte[256 * 1024];
        new Random(7).NextBytes(payload);

        await Client.SendAllAsync(client, payload, Patience.Bulk);
        client.Shutdown(SocketShutdown.Send);
        var back = await Client.ReadToEndAsync(client, Patience.Bulk);

        back.Length.Should().Be(payload.Length, "every byte sent before the FIN comes back, then EOF");
        back.AsSpan().SequenceEqual(payload).Should().BeTrue();
    }

    [Fact]
    public async Task Ctrl_C_drains_closes_the_client_and_exits_0()
    {
        await using var server = await StartAsync();
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "before Ctrl+C\n");

        // SIGINT to the Wine process is Ctrl+C (CTRL_C_EVENT) to the program (ServerProcess starts it with SIGINT's default disposition).
        await server.SendSignalAsync("INT");
        await server.WaitForExitAsync(Patience.ProcessExit);

        server.ExitCode.Should().Be(0, server.Output);
        server.StdoutLines.Should().Contain(line => line.Contains("draining:"), server.Output);
        (await Client.ReadEndAsync(client, Patience.Short)).Should().BeOneOf("EOF", "reset");
    }

    [Fact]
    public async Task Udp_echoes_each_datagram_exactly_and_ignores_source_port_7()
    {
        await using var server = await StartAsync("--udp", "--stats-interval", "200ms");
        await UdpEchoChecks.AssertEchoesAndRefusesSourcePort7Async(server, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Over_the_IPv6_loopback_TCP_and_UDP_both_echo()
    {
        Skips.When(Ipv6Loopback.SkipReason);
        await using var server = await StartAsync("--udp", "--bind", "[::1]:0");
        server.EndPoint.Address.Should().Be(IPAddress.IPv6Loopback);

        using (var client = await Client.ConnectAsync(server))
        {
            await Client.AssertEchoesAsync(client, "over [::1]\n");
        }

        await UdpEchoChecks.AssertEchoesDatagramsAsync(server, TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("close")] // CTRL_CLOSE_EVENT: closing the console window
    [InlineData("break")] // CTRL_BREAK_EVENT: Ctrl+Break
    public async Task A_console_event_drains_closes_the_client_and_exits_0(string consoleEvent)
    {
        await using var server = await StartUnderConsoleAsync();
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, $"before {consoleEvent}\n");

        await DeliverAsync(server, consoleEvent);
        await server.WaitForExitAsync(Patience.ProcessExit);

        // consolectrl ends the server as Windows would if the close handler returned before the drain had ended (exit 0xC000013A).
        server.ExitCode.Should().Be(0, server.Output);
        server.StdoutLines.Should().Contain(line => line.Contains("draining:"), server.Output);
        (await Client.ReadEndAsync(client, Patience.Short)).Should().BeOneOf("EOF", "reset");
    }

    [Fact]
    public async Task Closing_the_console_cuts_a_drain_short_to_end_before_Windows_ends_the_process()
    {
        await using var server = await StartUnderConsoleAsync("--shutdown-timeout", "30s");
        using var client = await Client.ConnectAsync(server);
        var clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;

        // A client that sends and never reads: the server owes it bytes, which no drain can deliver.
        var payload = new byte[64 << 20];
        var sending = Client.SendAllAsync(client, payload, Patience.Bulk);
        await Wait.UntilAsync(() => ProcNetTcp.Find(server.Port, clientPort) is { SendQueue: >= 64 * 1024 }, Patience.Io,
            "the server's socket holds bytes the client does not read", () => server.Output);

        await DeliverAsync(server, "close");
        await server.WaitForExitAsync(Patience.ProcessExit);

        // Past Windows' 5 s consolectrl ends the server with 0xC000013A: exit 0 means the drain ended in time.
        server.ExitCode.Should().Be(0, server.Output);
        server.StdoutLines.Should().Contain(line => line.Contains("draining:") && line.Contains("up to 3000 ms"), server.Output);
        server.StdoutLines.Should().Contain(line => line.Contains("shutdown timeout reached"), server.Output);
        await FluentActions.Awaiting(() => sending).Should().ThrowAsync<Exception>("the server closed the connection it still owed");
    }

    [Fact]
    public async Task Keepalive_reaches_the_accepted_socket_as_Linux_sees_it()
    {
        Skips.When(SocketStatistics.SkipReason);
        await using var server = await StartAsync("--keepalive", "37s:5s:3");
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "probe me in 37 s\n");

        // A Wine socket is a Linux socket: ss shows the keepalive timer the Windows program set.
        var listing = await SocketStatistics.EstablishedAsync(server.Port);
        TestContext.Current.TestOutputHelper?.WriteLine($"{listing}\n{server.Output}");
        SocketStatistics.KeepAliveSeconds(listing).Should().NotBeNull("the accepted socket has SO_KEEPALIVE:\n{0}\n{1}", listing, server.Output)
            .And.BeInRange(27, 37, "the first probe is due 37 s after the last packet, not at the kernel's 2 h or the server's default 1 min");
    }

    [Theory]
    [InlineData("--poller", "nope", "--poller")]
    [InlineData("--bind", "unix:/tmp/echo.sock", "unix sockets are not served on Windows (Windows 10 1803 and later have AF_UNIX, but Wine 8")]
    [InlineData("--reactors", "2", "one reactor on Windows")]
    [InlineData("--poller", "epoll", "epoll is not available on Windows (available: afd)")]
    public async Task A_bad_option_value_exits_2_with_one_line(string option, string value, string says)
    {
        Skips.When(WineHost.SkipReason);

        await using var run = await WineHost.RunToExitAsync(LibkqueueBuild.RepoRoot(), await Exe.Value, [option, value], Patience.Scenario);

        run.ExitCode.Should().Be(2, run.Output);
        run.StderrLines.Where(l => !l.StartsWith("Try '", StringComparison.Ordinal)).Should().ContainSingle(run.Output).Which.Should().Contain(says);
        run.ListeningAddresses.Should().BeEmpty();
    }

    [Fact]
    public async Task A_port_in_use_exits_1_with_one_line()
    {
        Skips.When(WineHost.SkipReason);
        using var taken = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        taken.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        taken.Listen();

        await using var run = await WineHost.RunToExitAsync(
            LibkqueueBuild.RepoRoot(), await Exe.Value, ["--bind", taken.LocalEndPoint!.ToString()!], Patience.Scenario);

        run.ExitCode.Should().Be(1, run.Output);
        run.StderrLines.Should().ContainSingle(run.Output).Which.Should().Contain("address already in use");
    }

    /// <summary>
    /// The publish, then one run of <c>--help</c> under Wine: it sets up the Wine prefix on first use (several seconds), so
    /// a server started later is bounded by the usual start-up patience.
    /// </summary>
    private static async Task<string> PublishAndStartWineAsync()
    {
        var root = LibkqueueBuild.RepoRoot();
        var exe = await WindowsPublish.PublishAsync(root, "server", "src/EchoServer", "echoserver.exe",
            ["src/EchoServer", "src/EchoServer.Reactor", "src/Shared"]);
        await using var help = await WineHost.RunToExitAsync(root, exe, ["--help"], Patience.WineRun);
        if (help.ExitCode != 0 || !help.Stdout.Contains("auto|epoll|kqueue|afd", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"echoserver.exe --help under Wine failed (exit {help.ExitCode}):\n{help.Output}");
        }

        return exe;
    }

    /// <summary>Starts <c>echoserver.exe</c> under Wine with <paramref name="args"/>, on 127.0.0.1 and a free port unless they give a --bind.</summary>
    private static async Task<ServerProcess> StartAsync(params string[] args)
    {
        Skips.When(WineHost.SkipReason);
        string[] bind = args.Contains("--bind") ? [] : ["--bind", "127.0.0.1:0"];
        return await WineHost.StartServerAsync(LibkqueueBuild.RepoRoot(), await Exe.Value, [.. bind, .. args]);
    }

    /// <summary>Has consolectrl.exe deliver <paramref name="consoleEvent"/> (close, break) to the server.</summary>
    private static async Task DeliverAsync(ServerProcess server, string consoleEvent)
    {
        await server.Input.WriteLineAsync(consoleEvent);
        await server.Input.FlushAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>The server as the child of consolectrl.exe, which delivers a console event for each line written to <see cref="ServerProcess.Input"/>.</summary>
    private static async Task<ServerProcess> StartUnderConsoleAsync(params string[] args)
    {
        Skips.When(WineHost.SkipReason);
        var exe = await Exe.Value;
        return await WineHost.StartServerAsync(
            LibkqueueBuild.RepoRoot(), await ConsoleCtrl.Value, [WineHost.WindowsPath(exe), "--bind", "127.0.0.1:0", .. args]);
    }
}
