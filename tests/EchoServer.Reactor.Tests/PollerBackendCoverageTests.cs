using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// Every backend this OS has runs the poller contract, and every backend it lacks is named as not
/// runnable here — never silently skipped. The contract classes are compiled per OS (see the csproj).
/// </summary>
public sealed class PollerBackendCoverageTests
{
    private static readonly Dictionary<PollerKind, string> ContractClasses = new()
    {
        [PollerKind.Epoll] = "EchoServer.Reactor.Tests.EpollPollerContractTests",
        [PollerKind.Kqueue] = "EchoServer.Reactor.Tests.KqueuePollerContractTests",
    };

    [Fact]
    public void Each_backend_runs_its_contract_exactly_where_the_os_has_it()
    {
        var report = new List<string>();
        foreach (var (kind, className) in ContractClasses)
        {
            var compiled = typeof(PollerBackendCoverageTests).Assembly.GetType(className) is not null;
            var supported = PollerFactory.IsSupported(kind);
            report.Add(supported
                ? $"{kind}: contract tests run here"
                : $"{kind}: not available on this OS; its contract tests run on an OS that has it (CI matrix)");
            compiled.Should().Be(supported, $"the {kind} contract tests must run exactly where {kind} exists");
        }

        TestContext.Current.SendDiagnosticMessage("poller backends: " + string.Join("; ", report));
        ContractClasses.Keys.Count(PollerFactory.IsSupported).Should().BeGreaterThan(0, "some backend must run here");
    }
}
