using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// Near the descriptor limit: the server stops accepting while the top of its table is still free for the
/// runtime (DescriptorHeadroom), keeps serving existing clients, retries without spinning and resumes.
/// </summary>
public sealed class EmfileTests
{
    // The .NET runtime itself holds ~85 descriptors (two per loaded assembly), and the server keeps the top
    // 64 of 256 free, which leaves room for about a hundred clients.
    private const int FileLimit = 256;
    private const string Paused = "pausing accepts";

    public EmfileTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "the open-file limit (RLIMIT_NOFILE) is Unix's; a Windows socket is a handle with no such limit");
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Out_of_descriptors_the_server_keeps_serving_does_not_spin_warns_once_and_recovers(PollerKind poller)
    {
        await using var server = await StartWithFileLimitAsync(poller);
        int PausedLines() =>
            server.StdoutLines.Concat(server.StderrLines).Count(l => l.Contains(Paused, StringComparison.Ordinal));

        var served = new List<Socket>();
        var stuck = new List<(Socket Socket, Task<byte[]> Echo)>();
        try
        {
            // Connect one client at a time until one is not served: accepting paused and it waits in the backlog.
            for (var i = 0; i < 4 * FileLimit && stuck.Count == 0; i++)
            {
                var socket = await Client.ConnectAsync(server);
                await Client.SendAllAsync(socket, "x"u8.ToArray());
                var echo = Client.ReadExactlyAsync(socket, 1, Patience.Bulk);
                if (await IsEchoedBeforePauseAsync(server, echo, i))
                {
                    served.Add(socket);
                }
                else
                {
                    stuck.Add((socket, echo));
                }
            }

            stuck.Should().NotBeEmpty($"with 'ulimit -n {FileLimit}' some client must end up waiting in the backlog");
            served.Should().HaveCountGreaterThan(5);

            // A few more wait in the backlog too.
            for (var i = 0; i < 5; i++)
            {
                var socket = await Client.ConnectAsync(server);
                await Client.SendAllAsync(socket, "y"u8.ToArray());
                stuck.Add((socket, Client.ReadExactlyAsync(socket, 1, Patience.Bulk)));
            }

            // Clients already connected are still served.
            await Client.AssertEchoesAsync(served[0], "still served\n", Patience.Short);
            await Client.AssertEchoesAsync(served[^1], "me too\n", Patience.Short);

            // No busy loop while clients are stuck in the backlog: measure CPU time over about a second.
            var cpuShare = await server.MeasureCpuShareAsync(TimeSpan.FromSeconds(1));
            TestContext.Current.TestOutputHelper?.WriteLine($"served {served.Count}, stuck {stuck.Count}; CPU {cpuShare:P0} of a core");
            cpuShare.Should().BeLessThan(0.3, "accepting must back off, not spin, while out of descriptors");
            // The runtime may briefly free a descriptor of its own, letting one backlogged client in; the rest still wait.
            stuck.Count(s => !s.Echo.IsCompleted).Should().BeGreaterThan(stuck.Count / 2, "clients wait while descriptors are exhausted");

            // Once per burst, not once per attempt: by now the back-off has retried many times (10, 20, 40 ... ms),
            // and the burst lasts until every waiting client has been accepted ('accepting again').
            PausedLines().Should().Be(1, "the warning is logged once per burst, not once per attempt:\n{0}", server.Output);
            server.StdoutLines.Should().NotContain(l => l.Contains("accepting again", StringComparison.Ordinal),
                "clients still wait in the backlog, so the burst has not ended");

            // It paused before the table was full (not on EMFILE): at an fd in the top quarter of 256, normally its
            // first (192), higher only if the runtime held that one at the moment.
            var pause = Regex.Match(server.Output, @"descriptors nearly exhausted \(accepted fd (\d+), limit (\d+)\)");
            pause.Success.Should().BeTrue("the listener stops at the headroom, before accept fails:\n{0}", server.Output);
            int.Parse(pause.Groups[1].Value, CultureInfo.InvariantCulture).Should().BeInRange(FileLimit - (FileLimit / 4), FileLimit - 1);
            int.Parse(pause.Groups[2].Value, CultureInfo.InvariantCulture).Should().Be(FileLimit);

            // Free some descriptors: the backlogged clients get accepted and echoed within a few seconds.
            foreach (var socket in served.Take(10))
            {
                socket.Dispose();
            }

            served.RemoveRange(0, 10);
            using var cts = new CancellationTokenSource(Patience.Short);
            var echoes = await Task.WhenAll(stuck.Select(s => s.Echo)).WaitAsync(cts.Token);
            echoes.Select(e => (char)e[0]).Should().Equal(['x', .. Enumerable.Repeat('y', stuck.Count - 1)]);
            await server.WaitForStdoutLineAsync(l => l.Contains("accepting again", StringComparison.Ordinal), Patience.Short,
                "the end of the burst is logged once the backlog is drained");
            PausedLines().Should().Be(1, "the burst was warned about once:\n{0}", server.Output);
            await Client.AssertEchoesAsync(stuck[0].Socket, "served now\n", Patience.Short);
            server.HasExited.Should().BeFalse(server.Output);
        }
        finally
        {
            served.ForEach(s => s.Dispose());
            stuck.ForEach(s => s.Socket.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Out_of_descriptors_for_several_seconds_the_server_stays_alive_and_keeps_serving(PollerKind poller)
    {
        await using var server = await StartWithFileLimitAsync(poller);
        var sockets = new List<Socket>();
        try
        {
            await FillDescriptorTableAsync(server, sockets);

            // Stay out of descriptors, idle but for the listener's retries, for longer than the runtime keeps idle
            // helper threads (the tiered JIT's background worker exits after 4 s idle and is re-created on demand):
            // the process must not exit.
            var exited = false;
            try
            {
                await server.WaitForExitAsync(TimeSpan.FromSeconds(9));
                exited = true;
            }
            catch (TimeoutException)
            {
                // Still running, as it should be.
            }

            exited.Should().BeFalse("the server must survive running out of descriptors, but it exited with code {0}:\n{1}",
                exited ? server.ExitCode : 0, server.Output);
            await Client.AssertEchoesAsync(sockets[0], "still served\n", Patience.Short);
            server.HasExited.Should().BeFalse(server.Output);
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task Out_of_descriptors_SIGTERM_still_drains_and_exits_0(PollerKind poller)
    {
        await using var server = await StartWithFileLimitAsync(poller);
        var sockets = new List<Socket>();
        try
        {
            await FillDescriptorTableAsync(server, sockets);

            // Handling a signal needs the runtime to run managed code on a thread it may have to create, and
            // creating a thread needs descriptors: the server leaves the top of the table free for exactly this.
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            await server.SendSignalAsync("TERM");
            await server.WaitForExitAsync(Patience.ProcessExit);
            server.ExitCode.Should().Be(0, server.Output);
            stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(3));
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    /// <summary>Connects clients (each echoed once) until one waits unserved: the server has paused accepting.</summary>
    private static async Task FillDescriptorTableAsync(ServerProcess server, List<Socket> sockets)
    {
        for (var i = 0; i < 4 * FileLimit; i++)
        {
            sockets.Add(await Client.ConnectAsync(server));
            await Client.SendAllAsync(sockets[^1], "x"u8.ToArray());
            if (!await IsEchoedBeforePauseAsync(server, Client.ReadExactlyAsync(sockets[^1], 1, Patience.Bulk), i))
            {
                return;
            }
        }

        Assert.Fail($"{4 * FileLimit} clients were all served under 'ulimit -n {FileLimit}':\n{server.Output}");
    }

    /// <summary>
    /// Waits until a client's echo arrives or the server warns that it paused accepting. The client whose fd
    /// landed in the headroom is still served after the warning, so a client counts as waiting only if no
    /// echo comes within a few seconds after it.
    /// </summary>
    private static async Task<bool> IsEchoedBeforePauseAsync(ServerProcess server, Task<byte[]> echo, int client)
    {
        bool IsPaused() => server.StdoutLines.Any(l => l.Contains(Paused, StringComparison.Ordinal));
        await Wait.UntilAsync(() => echo.IsCompleted || IsPaused() || server.HasExited,
            Patience.Settle, $"client {client} is echoed or the server warns that it paused accepting", () => server.Output);
        if (!echo.IsCompleted && !server.HasExited)
        {
            await Task.WhenAny(echo, Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken));
        }

        server.HasExited.Should().BeFalse(server.Output);
        return echo.IsCompletedSuccessfully;
    }

    /// <summary>Starts the server on <paramref name="poller"/> under <c>ulimit -n</c> <see cref="FileLimit"/> (exec, so the PID is the server's).</summary>
    private static Task<ServerProcess> StartWithFileLimitAsync(PollerKind poller)
    {
        var quoted = "'" + ServerProcess.ServerPath.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
        var pollerArgs = string.Join(' ', ServerPollers.Arguments(poller));
        return ServerProcess.StartAsync(
            "/bin/sh",
            ["-c", $"ulimit -n {FileLimit} && exec {quoted} --bind 127.0.0.1:0 {pollerArgs}"],
            ServerPollers.Environment(poller));
    }
}
