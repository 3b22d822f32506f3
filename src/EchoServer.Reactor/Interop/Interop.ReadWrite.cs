using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

internal static unsafe partial class Libc
{
    // ssize_t read(int fd, void *buf, size_t count);                               read(2)
    [LibraryImport(Name, EntryPoint = "read")]
    private static partial nint read(int fd, byte* buf, nuint count);

    // ssize_t write(int fd, const void *buf, size_t count);                        write(2)
    [LibraryImport(Name, EntryPoint = "write")]
    private static partial nint write(int fd, byte* buf, nuint count);

    // ssize_t send(int sockfd, const void *buf, size_t len, int flags);            send(2)
    [LibraryImport(Name, EntryPoint = "send")]
    private static partial nint send(int fd, byte* buf, nuint len, int flags);

    // Linux: MSG_NOSIGNAL per call; macOS: 0 here and SO_NOSIGPIPE on the socket instead.
    private static readonly int s_sendFlags = OsConstants.Current.MSG_NOSIGNAL;

    /// <summary>
    /// The one EINTR rule, for every call that returns a count, an fd or 0 on success and -1 on failure
    /// (read, write, send, recvfrom, sendto, splice, accept, unlink, lstat): true with the result (or -1 and
    /// errno) when the call is over; false when a signal interrupted it before it did anything, so the caller
    /// calls again (<c>while (!Completed(call(…), out result, out errno)) { }</c>). Never for close(2), connect(2)
    /// or a wait: see their wrappers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool Completed(nint n, out int result, out Errno errno)
    {
        if (n >= 0)
        {
            errno = default;
            result = (int)n;
            return true;
        }

        errno = Errno.Last;
        result = -1;
        return !errno.IsInterrupted;
    }

    /// <summary>read(2), retried on EINTR.</summary>
    /// <returns>Bytes read, 0 at end of stream, or -1 with <paramref name="errno"/> set.</returns>
    internal static int Read(int fd, Span<byte> buffer, out Errno errno)
    {
        fixed (byte* p = buffer)
        {
            int result;
            while (!Completed(read(fd, p, (nuint)buffer.Length), out result, out errno))
            {
            }

            return result;
        }
    }

    /// <summary>write(2) on a non-socket fd (eventfd, pipe), retried on EINTR.</summary>
    /// <returns>Bytes written, or -1 with <paramref name="errno"/> set.</returns>
    internal static int Write(int fd, ReadOnlySpan<byte> buffer, out Errno errno)
    {
        fixed (byte* p = buffer)
        {
            int result;
            while (!Completed(write(fd, p, (nuint)buffer.Length), out result, out errno))
            {
            }

            return result;
        }
    }

    /// <summary>send(2) with SIGPIPE suppressed, retried on EINTR. A gone peer gives EPIPE, not a signal.</summary>
    /// <returns>Bytes sent, or -1 with <paramref name="errno"/> set.</returns>
    internal static int Send(int fd, ReadOnlySpan<byte> buffer, out Errno errno)
    {
        fixed (byte* p = buffer)
        {
            int result;
            while (!Completed(send(fd, p, (nuint)buffer.Length, s_sendFlags), out result, out errno))
            {
            }

            return result;
        }
    }
}
