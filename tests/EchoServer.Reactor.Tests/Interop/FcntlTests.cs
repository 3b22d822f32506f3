using EchoServer.Reactor.Interop;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Interop;

/// <summary>
/// The fcntl wrapper on the running platform. On Apple arm64 this exercises the stack-slot declaration
/// (six dummy register arguments); elsewhere the plain three-argument one.
/// </summary>
public class FcntlTests
{
    private const int F_GETFD = 1; // <fcntl.h>, the same on Linux, macOS and FreeBSD

    [Fact]
    public void Set_non_blocking_close_on_exec_sets_both_flags()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "fcntl(2) is libc's; Winsock sockets are made non-blocking with ioctlsocket");
        var c = OsConstants.Current;
        var fd = Libc.Socket(c.AF_INET, c.SOCK_STREAM, out var errno);
        fd.Should().BeGreaterThanOrEqualTo(0, errno.ToString());
        try
        {
            // Start from a blocking fd without FD_CLOEXEC, whatever Socket() set.
            var flags = Libc.Fcntl(fd, c.F_GETFL, 0);
            Libc.Fcntl(fd, c.F_SETFL, flags & ~c.O_NONBLOCK).Should().Be(0);
            Libc.Fcntl(fd, c.F_SETFD, 0).Should().Be(0);
            (Libc.Fcntl(fd, c.F_GETFL, 0) & c.O_NONBLOCK).Should().Be(0);
            (Libc.Fcntl(fd, F_GETFD, 0) & c.FD_CLOEXEC).Should().Be(0);

            Libc.SetNonBlockingCloseOnExec(fd).Value.Should().Be(0);

            (Libc.Fcntl(fd, c.F_GETFL, 0) & c.O_NONBLOCK).Should().Be(c.O_NONBLOCK);
            (Libc.Fcntl(fd, F_GETFD, 0) & c.FD_CLOEXEC).Should().Be(c.FD_CLOEXEC);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    [Fact]
    public void The_stack_slot_declaration_is_chosen_only_on_apple_arm64()
    {
        Libc.FcntlVariadicOnStack.Should().Be(
            OperatingSystem.IsMacOS() && System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture
                == System.Runtime.InteropServices.Architecture.Arm64);
    }
}
