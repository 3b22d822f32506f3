using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

public class SmokeTests
{
    [Fact]
    public void Epoll_poller_reports_its_name()
    {
        using var poller = new EpollPoller();
        poller.Name.Should().Be("epoll");
    }
}
