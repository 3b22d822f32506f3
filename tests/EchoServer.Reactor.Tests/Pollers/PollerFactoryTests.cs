using EchoServer.Reactor.Pollers;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Pollers;

public class PollerFactoryTests
{
    // Once any test of this process has loaded libkqueue, kqueue is available on Linux too, and that cannot be
    // undone; the "kqueue is not available on Linux" error is therefore checked on a fresh echoserver process.
    private const string LinuxLacksNothingHere =
        "on Linux this test process may run kqueue over libkqueue, so no backend is missing here; "
        + "ServerOperationsTests.A_poller_of_another_OS_on_Linux_is_a_usage_error_with_one_line checks the message on a fresh process";

    private static bool IsBsd => OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();

    private static PollerKind OsBackend =>
        OperatingSystem.IsLinux() ? PollerKind.Epoll : OperatingSystem.IsWindows() ? PollerKind.Afd : PollerKind.Kqueue;

    private static string OsBackendName => OsBackend.ToString().ToLowerInvariant();

    [Fact]
    public void Auto_picks_the_backend_of_the_os()
    {
        using var poller = PollerFactory.Create(PollerKind.Auto);
        poller.Name.Should().Be(OsBackendName);
    }

    [Fact]
    public void Resolve_maps_auto_to_the_os_backend_and_keeps_explicit_kinds()
    {
        PollerFactory.Resolve(PollerKind.Auto).Should().Be(OsBackend);
        PollerFactory.Resolve(PollerKind.Epoll).Should().Be(PollerKind.Epoll);
        PollerFactory.Resolve(PollerKind.Kqueue).Should().Be(PollerKind.Kqueue);
        PollerFactory.Resolve(PollerKind.Afd).Should().Be(PollerKind.Afd);
    }

    [Fact]
    public void Is_supported_exactly_for_the_os_backend()
    {
        PollerFactory.IsSupported(PollerKind.Auto).Should().BeTrue();
        PollerFactory.IsSupported(PollerKind.Epoll).Should().Be(OperatingSystem.IsLinux());
        PollerFactory.IsSupported(PollerKind.Afd).Should().Be(OperatingSystem.IsWindows());
        PollerFactory.IsSupported((PollerKind)42).Should().BeFalse();
        if (IsBsd)
        {
            PollerFactory.IsSupported(PollerKind.Kqueue).Should().BeTrue();
        }
    }

    [Fact]
    public void On_Linux_kqueue_runs_over_libkqueue_once_it_is_loaded_and_auto_stays_epoll()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "libkqueue stands in for kqueue on Linux only");
        LibkqueueBuild.RequireKqueue();

        PollerFactory.IsSupported(PollerKind.Kqueue).Should().BeTrue();
        PollerFactory.LibkqueuePath.Should().Be(LibkqueueBuild.RequirePath());
        using (var poller = PollerFactory.Create(PollerKind.Kqueue))
        {
            poller.Name.Should().Be("kqueue");
        }

        PollerFactory.Resolve(PollerKind.Auto).Should().Be(PollerKind.Epoll);
        var switchLibrary = () => PollerFactory.UseLibkqueue("/nonexistent/libkqueue.so.0");
        switchLibrary.Should().Throw<InvalidOperationException>("P/Invoke bindings cannot be moved to another library");
    }

    [Fact]
    public void Asking_for_the_explicit_os_backend_creates_it()
    {
        using var poller = PollerFactory.Create(OsBackend);
        poller.Name.Should().Be(OsBackendName);
    }

    [Fact]
    public void Afd_off_Windows_is_a_one_line_platform_error_and_refuses_to_start_when_constructed_directly()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "AFD polling is the Windows backend");
        var act = () => PollerFactory.Create(PollerKind.Afd);
        act.Should().Throw<PlatformNotSupportedException>().WithMessage("afd is not available on * (available: *)")
            .Which.Message.Should().NotContain("\n");

        Action direct = () => new AfdPoller().Dispose();
        direct.Should().Throw<PlatformNotSupportedException>();
    }

    [Fact]
    public void Asking_for_the_backend_this_os_lacks_is_a_one_line_platform_error()
    {
        Assert.SkipWhen(OperatingSystem.IsLinux(), LinuxLacksNothingHere);
        var missing = OperatingSystem.IsLinux() ? PollerKind.Kqueue : PollerKind.Epoll;
        var expected = OperatingSystem.IsLinux()
            ? "kqueue is not available on Linux (available: epoll)"
            : "epoll is not available on * (available: kqueue)";
        var act = () => PollerFactory.Create(missing);
        act.Should().Throw<PlatformNotSupportedException>().WithMessage(expected)
            .Which.Message.Should().NotContain("\n");
    }

    [Fact]
    public void The_backend_this_os_lacks_refuses_to_start_when_constructed_directly()
    {
        Assert.SkipWhen(OperatingSystem.IsLinux(), LinuxLacksNothingHere);
        Action act = OperatingSystem.IsLinux() ? () => new KqueuePoller().Dispose() : () => new EpollPoller().Dispose();
        act.Should().Throw<PlatformNotSupportedException>();
    }

    [Fact]
    public void An_undefined_kind_is_an_argument_error()
    {
        var act = () => PollerFactory.Create((PollerKind)42);
        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
