using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>The <see cref="IPoller"/> contract run against epoll, plus what only epoll promises.</summary>
public sealed class EpollPollerContractTests : PollerContractTests
{
    protected override IPoller CreatePoller() => PollerFactory.Create(PollerKind.Epoll);

    // epoll reports no EPOLLOUT|EPOLLERR or EPOLLHUP for our own shutdown(SHUT_WR) (mio ignores the test on Linux).
    protected override bool ReportsWriteClosedOnLocalShutdownWrite => false;

    [Fact]
    public void Reports_its_name()
    {
        Poller.Name.Should().Be("epoll");
    }

    [Fact]
    public void Reregister_and_deregister_of_an_unregistered_fd_throw()
    {
        using var pair = TcpPair.Open();

        var act = () => Poller.Reregister(pair.Accepted.Source, new Token(1), Interest.Readable);
        act.Should().Throw<SyscallException>().Which.Call.Should().Be("epoll_ctl(MOD)");

        act = () => Poller.Deregister(pair.Accepted.Source);
        act.Should().Throw<SyscallException>().Which.Call.Should().Be("epoll_ctl(DEL)");
    }
}
