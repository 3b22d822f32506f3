using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static partial class Libc
{
    // int close(int fd);                                                           close(2)
    [LibraryImport(Name, EntryPoint = "close")]
    private static partial int close(int fd);

    /// <summary>close(2), never retried.</summary>
    /// <remarks>
    /// On Linux the fd is released even when close returns EINTR, and a retry could close an fd that
    /// another thread has just been given (close(2), "Dealing with error returns from close()").
    /// </remarks>
    internal static Errno Close(int fd) => close(fd) == 0 ? default : Errno.Last;

    /// <summary>Closes the fd held in <paramref name="fd"/> and sets it to -1, once, whichever thread gets there first.</summary>
    internal static void CloseOnce(ref int fd)
    {
        var taken = Interlocked.Exchange(ref fd, -1);
        if (taken >= 0)
        {
            _ = close(taken);
        }
    }
}
