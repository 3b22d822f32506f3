using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static partial class Libc
{
    // int fcntl(int fd, int cmd, ... /* arg */);                                   fcntl(2)
    //
    // fcntl is variadic, and P/Invoke can only make fixed-argument calls. A fixed call puts the third
    // argument where the callee's va_arg looks for it on x86-64 (System V: variadic arguments use the
    // same registers, rdx here) and on Linux/FreeBSD arm64 (AAPCS64: x2). Not on Apple arm64: Apple's
    // ABI ("Writing ARM64 code for Apple platforms", "Variadic functions") passes every variadic
    // argument on the stack, in 8-byte slots, so a fixed (fd, cmd, arg) call leaves arg in x2 and
    // fcntl reads whatever lies at [sp] — F_SETFL would then set garbage flags.
    //
    // The macOS-arm64 declaration therefore fills the remaining argument registers with dummies:
    // fd and cmd take x0 and x1, six register-sized dummies take x2..x7, and the real argument, the
    // ninth integer argument, is passed in the first stack slot — exactly where va_arg reads it. It is
    // declared nint so the whole 8-byte slot is defined (commands taking a pointer read all 8 bytes).
    // (Eight dummies would be wrong: arg would land in the third stack slot.) This is the workaround
    // discussed in dotnet/runtime#48752 for variadic P/Invokes on Apple silicon.
    [LibraryImport(Name, EntryPoint = "fcntl")]
    private static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport(Name, EntryPoint = "fcntl")]
    private static partial int fcntl_apple_arm64(
        int fd, int cmd, nint x2, nint x3, nint x4, nint x5, nint x6, nint x7, nint arg);

    /// <summary>True where variadic arguments go on the stack (Apple arm64), chosen once at run time.</summary>
    internal static readonly bool FcntlVariadicOnStack =
        OperatingSystem.IsMacOS() && RuntimeInformation.ProcessArchitecture == Architecture.Arm64;

    /// <summary>fcntl(2) with an int argument, through the declaration that matches this platform's variadic ABI.</summary>
    internal static int Fcntl(int fd, int cmd, int arg) =>
        FcntlVariadicOnStack ? fcntl_apple_arm64(fd, cmd, 0, 0, 0, 0, 0, 0, arg) : fcntl(fd, cmd, arg);

    /// <summary>Sets O_NONBLOCK and FD_CLOEXEC on <paramref name="fd"/>, for OSes without SOCK_NONBLOCK/accept4.</summary>
    internal static Errno SetNonBlockingCloseOnExec(int fd)
    {
        var c = OsConstants.Current;
        var flags = Fcntl(fd, c.F_GETFL, 0);
        if (flags < 0 || Fcntl(fd, c.F_SETFL, flags | c.O_NONBLOCK) < 0 || Fcntl(fd, c.F_SETFD, c.FD_CLOEXEC) < 0)
        {
            return Errno.Last;
        }

        return default;
    }

    /// <summary>Sets FD_CLOEXEC on <paramref name="fd"/> (F_SETFD replaces the fd flags; FD_CLOEXEC is the only one).</summary>
    internal static Errno SetCloseOnExec(int fd)
    {
        var c = OsConstants.Current;
        return Fcntl(fd, c.F_SETFD, c.FD_CLOEXEC) < 0 ? Errno.Last : default;
    }
}
