using EchoServer.Reactor.Pollers;

namespace EchoServer.TestSupport;

/// <summary>The shared launcher (tests/Shared/ServerProcess.cs), on a chosen poller backend.</summary>
internal sealed partial class ServerProcess
{
    /// <summary>
    /// Starts <c>echoserver</c> on <paramref name="poller"/> (<see cref="EchoServer.Tests.ServerPollers"/>; skips the test
    /// where that backend cannot run here) and waits until it listens.
    /// </summary>
    public static Task<ServerProcess> StartAsync(PollerKind poller, params string[] args) =>
        StartAsync([.. EchoServer.Tests.ServerPollers.Arguments(poller), .. args], EchoServer.Tests.ServerPollers.Environment(poller));
}
