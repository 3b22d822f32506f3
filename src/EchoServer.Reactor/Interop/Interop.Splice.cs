using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static unsafe partial class Libc
{
    // ssize_t splice(int fd_in, off64_t *off_in, int fd_out, off64_t *off_out,
    //                size_t len, unsigned int flags);                               splice(2), Linux only
    [LibraryImport(Name, EntryPoint = "splice")]
    private static partial nint splice(int fdIn, long* offIn, int fdOut, long* offOut, nuint len, uint flags);

    // int pipe2(int pipefd[2], int flags);                                          pipe2(2)
    [LibraryImport(Name, EntryPoint = "pipe2")]
    private static partial int pipe2(int* pipefd, int flags);

    /// <summary>
    /// splice(2) between a pipe and a socket (no offsets: neither end is seekable), non-blocking, retried
    /// on EINTR. Moves up to <paramref name="count"/> bytes inside the kernel.
    /// </summary>
    /// <returns>Bytes moved, 0 at the input's end of stream, or -1 with <paramref name="errno"/> set.</returns>
    internal static int Splice(int fdIn, int fdOut, int count, out Errno errno)
    {
        var c = OsConstants.Current;
        var flags = (uint)(c.SPLICE_F_MOVE | c.SPLICE_F_NONBLOCK);
        int result;
        while (!Completed(splice(fdIn, null, fdOut, null, (nuint)count, flags), out result, out errno))
        {
        }

        return result;
    }

    /// <summary>pipe2(O_NONBLOCK | O_CLOEXEC): a pipe whose ends are both non-blocking.</summary>
    internal static Errno Pipe(out int readFd, out int writeFd)
    {
        var c = OsConstants.Current;
        var fds = stackalloc int[2];
        if (pipe2(fds, c.O_NONBLOCK | c.O_CLOEXEC) != 0)
        {
            readFd = writeFd = -1;
            return Errno.Last;
        }

        readFd = fds[0];
        writeFd = fds[1];
        return default;
    }

    /// <summary>fcntl(F_SETPIPE_SZ): asks for a pipe of <paramref name="bytes"/> (rounded up to a power-of-two number of pages).</summary>
    /// <returns>The capacity the kernel gave, or -1 with <paramref name="errno"/> set (EPERM over the user's pipe quota).</returns>
    internal static int SetPipeSize(int fd, int bytes, out Errno errno)
    {
        var n = Fcntl(fd, OsConstants.Current.F_SETPIPE_SZ, bytes);
        errno = n < 0 ? Errno.Last : default;
        return n;
    }
}
