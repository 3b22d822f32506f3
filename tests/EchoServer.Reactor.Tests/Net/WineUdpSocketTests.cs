using EchoServer.Reactor.Tests.Support;

namespace EchoServer.Reactor.Tests.Net;

/// <summary>
/// <see cref="UdpSocketTests"/> on Winsock and the AFD poller, run from Linux under Wine (<see cref="WineTestRun"/>), each of
/// its cases reported here as a case of its own. Skips with the reason where Wine cannot run.
/// </summary>
public sealed class WineUdpSocketTests
{
    /// <summary>Every case of <see cref="UdpSocketTests"/>, by method name.</summary>
    public static TheoryData<string> Cases => WineTestRun.CasesOf(typeof(UdpSocketTests));

    [Theory]
    [MemberData(nameof(Cases))]
    public Task Case_passes_on_Winsock_under_Wine(string name) => WineTestRun.AssertPassedAsync(typeof(UdpSocketTests), name);
}
