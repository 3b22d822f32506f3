using System.Reflection;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// Every backend runs the whole poller contract wherever it can run: epoll on Linux; kqueue on macOS and FreeBSD
/// (the kernel's) and on Linux (over libkqueue, whose contract cases skip with the reason where it cannot be
/// built); afd on Windows, and from Linux under Wine (WinePollerContractTests runs the afd class's cases there). The
/// epoll contract class is compiled on Linux only (see the csproj), the kqueue and afd ones everywhere (skipping where
/// they cannot run), so a wrong condition there, a contract class that is abstract or does not derive from the
/// contract, or a backend without one fails here rather than going unrun.
/// </summary>
public sealed class PollerBackendCoverageTests
{
    private static readonly Dictionary<PollerKind, string> ContractClasses = new()
    {
        [PollerKind.Epoll] = "EchoServer.Reactor.Tests.EpollPollerContractTests",
        [PollerKind.Kqueue] = "EchoServer.Reactor.Tests.KqueuePollerContractTests",
        [PollerKind.Afd] = "EchoServer.Reactor.Tests.AfdPollerContractTests",
    };

    public static TheoryData<PollerKind> BackendsHere => new(Backends());

    // The backends whose contract class is compiled here: epoll's on Linux only; kqueue's and afd's on every OS.
    private static PollerKind[] Backends() =>
        OperatingSystem.IsLinux() ? [PollerKind.Epoll, PollerKind.Kqueue, PollerKind.Afd] : [PollerKind.Kqueue, PollerKind.Afd];

    [Fact]
    public void The_contract_classes_compiled_here_are_exactly_those_of_the_backends_this_OS_runs()
    {
        var compiled = typeof(PollerBackendCoverageTests).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(PollerContractTests)) && !t.IsAbstract)
            .Select(t => t.FullName);

        var expected = Backends().Select(kind => ContractClasses[kind]);
        compiled.Should().BeEquivalentTo(expected, "epoll exists on Linux only; kqueue runs in the kernel on macOS and FreeBSD and over libkqueue on Linux; afd on Windows and under Wine");
    }

    [Theory]
    [MemberData(nameof(BackendsHere))]
    public void Each_backend_s_contract_class_runs_every_case_of_the_contract(PollerKind kind)
    {
        var type = typeof(PollerBackendCoverageTests).Assembly.GetType(ContractClasses[kind]);
        type.Should().NotBeNull($"{kind} runs on this OS, so its contract class must be compiled");
        type!.IsSubclassOf(typeof(PollerContractTests)).Should().BeTrue("the contract's cases are inherited from PollerContractTests");
        type.IsAbstract.Should().BeFalse("xunit runs no case of an abstract class");

        var create = type.GetMethod("CreatePoller", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        create.Should().NotBeNull();
        create!.IsAbstract.Should().BeFalse();
        create.DeclaringType.Should().NotBe<PollerContractTests>($"the {kind} class supplies its own backend");

        var contract = Cases(typeof(PollerContractTests));
        contract.Should().NotBeEmpty("the contract declares its cases as [Fact]/[Theory] methods");
        var cases = Cases(type);
        cases.Should().Contain(contract, $"every case of the contract runs against {kind}");
        cases.Count.Should().BeGreaterThanOrEqualTo(contract.Count);
    }

    // The test methods xunit finds on `type`, inherited ones included ([Theory] derives from [Fact]).
    private static List<string> Cases(Type type) =>
        type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.FlattenHierarchy)
            .Where(m => m.IsDefined(typeof(FactAttribute), inherit: true))
            .Select(m => m.Name)
            .ToList();
}
