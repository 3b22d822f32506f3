using System.Net.Sockets;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The stats line, --help, --poller and --reactors, on the real process.</summary>
public sealed class ServerOperationsTests
{
    [Fact]
    public async Task The_stats_line_counts_exactly_the_traffic_of_three_clients()
    {
        await using var server = await ServerProcess.StartAsync("--stats-interval", "200ms");
        for (var i = 0; i < 3; i++)
        {
            var payload = new byte[1000];
            new Random(i).NextBytes(payload);
            using var client = await Client.ConnectAsync(server);
            await Client.SendAllAsync(client, payload);
            (await Client.ReadExactlyAsync(client, payload.Length)).Should().Equal(payload);
            client.Shutdown(SocketShutdown.Send);
            (await Client.ReadEndAsync(client, Patience.Short)).Should().Be("EOF");
        }

        var line = await server.WaitForStdoutLineAsync(
            l => StatsLine.Field(l, "active") == 0 && StatsLine.Field(l, "accepted") == 3,
            Patience.Settle, "a stats line shows the three clients served and gone");

        line.Should().Contain("active=0 accepted=3 ");
        StatsLine.Field(line, "rejected").Should().Be(0, line);
        StatsLine.Field(line, "closed").Should().Be(3, line);
        StatsLine.Field(line, "bytes_received").Should().Be(3000, line);
        StatsLine.Field(line, "bytes_sent").Should().Be(3000, line);
        line.Should().NotContain("udp_", "without --udp there are no UDP fields");
    }

    [Fact]
    public async Task Help_lists_every_option()
    {
        await using var server = await ServerProcess.RunToExitAsync("--help");

        server.ExitCode.Should().Be(0, server.Output);
        var help = string.Join('\n', server.StdoutLines);
        string[] options =
        [
            "--bind", "--poller", "--reactors", "--udp", "--max-pending-bytes", "--max-connections", "--backlog",
            "--idle-timeout", "--keepalive", "--socket-buffers", "--shutdown-timeout", "--stats-interval", "--log-level",
        ];
        foreach (var option in options)
        {
            // An entry of the options list: the option (after its short alias, if any) starts the line.
            help.Should().MatchRegex($@"(?m)^\s+(-\w, )?{option}\b", "--help must list {0}", option);
        }
    }

    [Theory]
    [InlineData("kqueue")]
    [InlineData("afd")]
    public async Task A_poller_of_another_OS_on_Linux_is_a_usage_error_with_one_line(string poller)
    {
        await using var server = await ServerProcess.RunToExitAsync("--bind", "127.0.0.1:0", "--poller", poller);

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain($"{poller} is not available on Linux (available: epoll)");
        server.Output.Should().NotContain("   at ", "errors must not be stack traces");
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Poller_listens_names_itself_and_echoes(PollerKind poller)
    {
        var name = ServerPollers.Arguments(poller)[1];
        await using var server = await ServerProcess.StartAsync(poller);

        server.StdoutLines.Should().Contain(l => l.Contains("listening on", StringComparison.Ordinal) && l.Contains($"({name},", StringComparison.Ordinal),
            server.Output);
        await Client.AssertEchoesAsync(server, $"through {name}\n");
    }

    [Fact]
    public async Task Poller_kqueue_with_a_libkqueue_setting_that_names_no_library_is_a_usage_error_with_one_line()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the libkqueue setting exists on Linux only");
        var environment = new Dictionary<string, string> { [ServerPollers.LibkqueueVariable] = "/nonexistent/libkqueue.so.0" };
        await using var server = await ServerProcess.RunToExitAsync(environment, "--bind", "127.0.0.1:0", "--poller", "kqueue");

        server.ExitCode.Should().Be(2, server.Output);
        server.StderrLines.Should().ContainSingle(server.Output).Which.Should()
            .Contain($"{ServerPollers.LibkqueueVariable}: cannot load libkqueue from /nonexistent/libkqueue.so.0");
        server.Output.Should().NotContain("   at ", "errors must not be stack traces");
    }

    [Fact]
    public async Task Two_reactors_serve_twenty_clients_each_its_own_payload()
    {
        const int clients = 20;
        const int size = 32 * 1024;
        await using var server = await ServerProcess.StartAsync("--reactors", "2");
        server.StdoutLines.Should().Contain(l => l.Contains("listening on", StringComparison.Ordinal) && l.Contains("2 reactor(s)", StringComparison.Ordinal),
            server.Output);

        async Task<bool> RunClient(int id)
        {
            var payload = new byte[size];
            new Random(1000 + id).NextBytes(payload);
            payload[0] = (byte)id;
            using var socket = await Client.ConnectAsync(server);
            var reading = Client.ReadExactlyAsync(socket, size);
            await Client.SendAllAsync(socket, payload);
            return (await reading).AsSpan().SequenceEqual(payload);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(id => Task.Run(() => RunClient(id), TestContext.Current.CancellationToken)));

        results.Should().AllSatisfy(ok => ok.Should().BeTrue(), "every client gets exactly its own payload back");
    }
}
