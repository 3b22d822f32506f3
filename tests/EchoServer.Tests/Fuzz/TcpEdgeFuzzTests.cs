using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests.Fuzz;

/// <summary>
/// Many clients at once, each doing a seeded random sequence of what a client can do at the TCP level (urgent bytes
/// alone, in bursts and between data; tiny and 1 MiB writes; pauses in reading while the server owes; a zero window;
/// half-close or reset at the end), against the real server on each backend, with splice on and off. Every connection
/// must end as its client asked with exactly its bytes echoed, urgent bytes inline; with every connection open and
/// quiet the server must idle, and once they are closed its descriptors must be back to where they were.
/// </summary>
/// <remarks>
/// <c>ECHOSERVER_FUZZ_SEEDS</c> (e.g. <c>1-50</c>) runs more rounds than the default three; a failure names the seed
/// and the script, and <see cref="ClientScript.Draw"/> with that seed replays it.
/// </remarks>
public sealed class TcpEdgeFuzzTests
{
    private const int Clients = 32;
    private static readonly TimeSpan RoundDeadline = Patience.Bulk;
    private static readonly TimeSpan QuietWindow = TimeSpan.FromSeconds(1);

    [Theory]
    [MemberData(nameof(ServerPollers.AllWithZeroCopy), MemberType = typeof(ServerPollers))]
    public async Task Random_tcp_edges_are_echoed_exactly_and_leave_the_server_idle(PollerKind poller, string zeroCopy)
    {
        await using var server = await ServerProcess.StartAsync(poller, "--bind", "127.0.0.1:0", "--zero-copy", zeroCopy);
        var before = ServerDescriptors.Of(server.Pid);
        var output = TestContext.Current.TestOutputHelper;
        var actions = 0;
        foreach (var round in Rounds())
        {
            var scripts = Enumerable.Range(0, Clients).Select(i => ClientScript.Draw((round * Clients) + i)).ToList();
            actions += scripts.Sum(s => s.Actions.Count);
            var lastStep = new Rendezvous(scripts.Count);
            using var deadline = new CancellationTokenSource(RoundDeadline);
            var clients = scripts.Select(s => FuzzClient.RunAsync(s, server.EndPoint, lastStep, deadline.Token)).ToList();

            // A client stuck before its last step fails at the deadline with what it got; the others are released then.
            await Task.WhenAny(lastStep.AllArrived, Task.Delay(Timeout.Infinite, deadline.Token));
            var cpuShare = deadline.IsCancellationRequested ? 0 : await server.MeasureCpuShareAsync(QuietWindow);
            lastStep.Release();
            var results = await Task.WhenAll(clients);

            var waited = results.Count(r => r == FuzzClient.WaitedForOthers);
            var failures = scripts.Zip(results).Where(r => r.Second is not null && r.Second != FuzzClient.WaitedForOthers)
                .Select(r => $"{r.First}\n  -> {r.Second}").ToList();
            failures.Should().BeEmpty("every connection must end as its client asked, with exactly its bytes echoed (round {0}; {1} more did, then waited for these):\n{2}\n{3}",
                round, waited, string.Join('\n', failures), server.Output);
            cpuShare.Should().BeLessThan(0.2, "with every connection open and quiet the server must idle (round {0}), not spin", round);
            output?.WriteLine($"round {round}: {scripts.Count} clients, {scripts.Sum(s => s.Actions.Count)} steps; CPU over a quiet second: {cpuShare:P0} of a core");
        }

        await Wait.UntilAsync(
            () => ServerDescriptors.Of(server.Pid).IsBackTo(before),
            Patience.Settle,
            "the server's descriptors are back to where they were before the clients came",
            () => $"before: {before}; now: {ServerDescriptors.Of(server.Pid)}");
        output?.WriteLine($"{actions} steps in all");
    }

    /// <summary>The rounds to run: 0, 1, 2, or the range in ECHOSERVER_FUZZ_SEEDS ("first-last").</summary>
    private static IEnumerable<int> Rounds()
    {
        var range = Environment.GetEnvironmentVariable("ECHOSERVER_FUZZ_SEEDS")?.Split('-');
        return range is [var first, var last] ? Enumerable.Range(int.Parse(first), int.Parse(last) - int.Parse(first) + 1) : [0, 1, 2];
    }
}

/// <summary>The server's open descriptors by kind, from /proc/PID/fd.</summary>
internal sealed record ServerDescriptors(int Sockets, int Pipes, int Others)
{
    /// <summary>Empty splice pipes a loop keeps for reuse, beside its loop pipe (LoopPipes.MaxSpares).</summary>
    private const int PipesKept = 1 + 16;

    public static ServerDescriptors Of(int pid)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "a process's descriptors are listed in /proc/PID/fd on Linux only");
        int sockets = 0, pipes = 0, others = 0;
        foreach (var entry in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            var target = new FileInfo(entry).LinkTarget ?? string.Empty;
            if (target.StartsWith("socket:", StringComparison.Ordinal))
            {
                sockets++;
            }
            else if (target.StartsWith("pipe:", StringComparison.Ordinal))
            {
                pipes++;
            }
            else
            {
                others++;
            }
        }

        return new ServerDescriptors(sockets, pipes, others);
    }

    /// <summary>Every connection closed; at most the pipes a loop keeps (2 descriptors each) beyond those it had.</summary>
    public bool IsBackTo(ServerDescriptors before) =>
        Sockets == before.Sockets && Others == before.Others && Pipes <= before.Pipes + (2 * PipesKept);
}
