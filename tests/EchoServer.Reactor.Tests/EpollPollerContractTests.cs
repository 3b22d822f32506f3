using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>The <see cref="IPoller"/> contract run against epoll, plus what only epoll promises.</summary>
public sealed class EpollPollerContractTests : PollerContractTests
{
    protected override IPoller CreatePoller() => PollerFactory.Create(PollerKind.Epoll);

    // epoll reports no EPOLLOUT|EPOLLERR or EPOLLHUP for our own shutdown(SHUT_WR) (mio ignores the test on Linux).
    protected override bool ReportsWriteClosedOnLocalShutdownWrite => false;

    protected override (string Reregister, string Deregister) CallsRefusingAnUnregisteredSource => ("epoll_ctl(MOD)", "epoll_ctl(DEL)");

    [Fact]
    public void Reports_its_name()
    {
        Poller.Name.Should().Be("epoll");
    }
}
