using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The <see cref="IPoller"/> contract run against kqueue. Compiled only where kqueue exists (macOS,
/// FreeBSD; see the test project file), so on Linux nothing is skipped: PollerBackendCoverageTests
/// reports kqueue as not runnable here instead, and the macos-latest CI job runs this class.
/// </summary>
public sealed class KqueuePollerContractTests : PollerContractTests
{
    protected override IPoller CreatePoller() => new KqueuePoller();

    // kqueue reports EV_EOF on the write filter after our own shutdown(SHUT_WR) (mio's
    // tcp_shutdown_client_write_close_event, which it runs on the BSDs and ignores on Linux).
    protected override bool ReportsWriteClosedOnLocalShutdownWrite => true;

    [Fact]
    public void Reports_its_name()
    {
        Poller.Name.Should().Be("kqueue");
    }
}
