using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The <see cref="IPoller"/> contract run against the Windows backend (AFD polling over a completion port), with the
/// library's own sockets on Winsock. Off Windows every case skips; on Linux the same cases run under Wine instead,
/// reported by <see cref="WinePollerContractTests"/>.
/// </summary>
public sealed class AfdPollerContractTests : PollerContractTests
{
    public AfdPollerContractTests()
    {
        Assert.SkipUnless(OperatingSystem.IsWindows(), "AFD polling exists only on Windows (on Linux these cases run under Wine: WinePollerContractTests)");
    }

    protected override IPoller CreatePoller() => PollerFactory.Create(PollerKind.Afd);

    // afd.sys reports nothing for our own shutdown(SD_SEND): only the peer sees it (as a disconnect).
    protected override bool ReportsWriteClosedOnLocalShutdownWrite => false;

    protected override (string Reregister, string Deregister) CallsRefusingAnUnregisteredSource => ("AFD reregister", "AFD deregister");

    // Wine learns of a FIN by peeking the socket, which returns the unread data first (docs/design.md, "The Windows backend").
    protected override bool ReportsEndOfStreamBehindUnreadData => !WineHost.IsRunningUnderWine;

    [Fact]
    public void Reports_its_name()
    {
        Poller.Name.Should().Be("afd");
    }
}
