using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// Every backend runs the poller contract wherever it can run: epoll on Linux; kqueue on macOS and FreeBSD
/// (the kernel's) and on Linux (over libkqueue, whose contract cases skip with the reason where it cannot be
/// built). The epoll contract class is compiled on Linux only (see the csproj).
/// </summary>
public sealed class PollerBackendCoverageTests
{
    private static readonly Dictionary<PollerKind, string> ContractClasses = new()
    {
        [PollerKind.Epoll] = "EchoServer.Reactor.Tests.EpollPollerContractTests",
        [PollerKind.Kqueue] = "EchoServer.Reactor.Tests.KqueuePollerContractTests",
    };

    [Fact]
    public void Each_backend_s_contract_is_compiled_wherever_the_backend_can_run()
    {
        Compiled(PollerKind.Epoll).Should().Be(OperatingSystem.IsLinux(), "epoll exists on Linux only");
        Compiled(PollerKind.Kqueue).Should().BeTrue("kqueue runs in the kernel on macOS and FreeBSD and over libkqueue on Linux");
    }

    private static bool Compiled(PollerKind kind) =>
        typeof(PollerBackendCoverageTests).Assembly.GetType(ContractClasses[kind]) is not null;
}
