using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Tests.Support;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The <see cref="IPoller"/> contract run against kqueue: the kernel's on macOS and FreeBSD (the macos-latest
/// CI job), libkqueue's on Linux (built by <see cref="LibkqueueBuild"/>; every case skips with the reason
/// where it cannot be built).
/// </summary>
public sealed class KqueuePollerContractTests : PollerContractTests
{
    public KqueuePollerContractTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "kqueue does not exist on Windows (libkqueue is built for Linux only here)");
        LibkqueueBuild.RequireKqueue();
    }

    protected override IPoller CreatePoller() => PollerFactory.Create(PollerKind.Kqueue);

    // A kernel kqueue reports EV_EOF on the write filter after our own shutdown(SHUT_WR) (mio's
    // tcp_shutdown_client_write_close_event, which it runs on the BSDs and ignores on Linux); libkqueue,
    // built on epoll, does not (docs/design.md, "kqueue over libkqueue").
    protected override bool ReportsWriteClosedOnLocalShutdownWrite => !LibkqueueBuild.IsNeeded;

    protected override (string Reregister, string Deregister) CallsRefusingAnUnregisteredSource => ("kevent(EV_ADD)", "kevent(EV_DELETE)");

    // libkqueue fills fflags from getsockopt(SO_ERROR), which clears the error (docs/design.md).
    protected override bool ClearsTheSocketErrorItReports => LibkqueueBuild.IsNeeded;

    [Fact]
    public void Reports_its_name()
    {
        Poller.Name.Should().Be("kqueue");
    }
}
