using EchoServer.Reactor.Tests.Support;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The poller contract against the Windows backend, run from Linux: <see cref="AfdPollerContractTests"/> under Wine
/// (<see cref="WineTestRun"/>), each of its cases reported here as a case of its own. Skips with the reason where Wine cannot run.
/// </summary>
public sealed class WinePollerContractTests
{
    /// <summary>Every case of the AFD contract class (inherited ones included), by method name.</summary>
    public static TheoryData<string> Cases => WineTestRun.CasesOf(typeof(AfdPollerContractTests));

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Case_passes_on_the_afd_backend_under_Wine(string name) => WineTestRun.AssertPassedAsync(typeof(AfdPollerContractTests), name);
}
