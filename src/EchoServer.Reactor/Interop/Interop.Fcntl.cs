using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static partial class Libc
{
    // int fcntl(int fd, int cmd, ... /* int arg */);                               fcntl(2)
    // Declared with a fixed int third argument. That matches the variadic call on x86-64 (System V)
    // and on Linux/FreeBSD arm64; Apple arm64 passes variadic arguments on the stack, which is why
    // the kqueue issue must give macOS its own declaration before fcntl is called there.
    [LibraryImport(Name, EntryPoint = "fcntl", SetLastError = true)]
    private static partial int fcntl(int fd, int cmd, int arg);

    /// <summary>Sets O_NONBLOCK and FD_CLOEXEC on <paramref name="fd"/>, for OSes without SOCK_NONBLOCK/accept4.</summary>
    internal static Errno SetNonBlockingCloseOnExec(int fd)
    {
        var c = OsConstants.Current;
        var flags = fcntl(fd, c.F_GETFL, 0);
        if (flags < 0 || fcntl(fd, c.F_SETFL, flags | c.O_NONBLOCK) < 0 || fcntl(fd, c.F_SETFD, c.FD_CLOEXEC) < 0)
        {
            return Errno.Last;
        }

        return default;
    }
}
