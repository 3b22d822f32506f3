using EchoServer.Reactor.Pollers;
using EchoServer.TestSupport;

namespace EchoServer.Tests;

/// <summary>
/// The poller backends the integration tests run the real server on: epoll on Linux, AFD on Windows, and kqueue
/// elsewhere (the kernel's on macOS and FreeBSD; on Linux libkqueue's, named to the server by
/// <see cref="LibkqueueVariable"/>, or the test skips saying why libkqueue cannot be built here).
/// </summary>
public static class ServerPollers
{
    /// <summary>The developer setting echoserver reads for <c>--poller kqueue</c> on Linux (docs/operations.md).</summary>
    public const string LibkqueueVariable = LibkqueueBuild.EnvironmentVariable;

    /// <summary>Every backend this OS can run the server on, for <c>[MemberData]</c>.</summary>
    public static TheoryData<PollerKind> All() =>
        OperatingSystem.IsLinux() ? new(PollerKind.Epoll, PollerKind.Kqueue)
        : OperatingSystem.IsWindows() ? new(PollerKind.Afd)
        : new(PollerKind.Kqueue);

    /// <summary>Every backend this OS can run the server on, each with <c>--zero-copy</c> on and off, for <c>[MemberData]</c>.</summary>
    public static TheoryData<PollerKind, string> AllWithZeroCopy()
    {
        var cases = new TheoryData<PollerKind, string>();
        foreach (var poller in All())
        {
            cases.Add(poller.Data, "on");
            cases.Add(poller.Data, "off");
        }

        return cases;
    }

    /// <summary>The command-line arguments that select <paramref name="poller"/>.</summary>
    public static string[] Arguments(PollerKind poller) => ["--poller", poller.ToString().ToLowerInvariant()];

    /// <summary>The environment the server needs for <paramref name="poller"/>; skips the calling test if it cannot run.</summary>
    public static Dictionary<string, string> Environment(PollerKind poller) =>
        poller == PollerKind.Kqueue && LibkqueueBuild.IsNeeded
            ? new() { [LibkqueueVariable] = LibkqueueBuild.RequirePath() }
            : [];
}
