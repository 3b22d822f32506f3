using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A non-blocking pipe used as a kernel-side buffer for splice(2): bytes move socket → pipe → socket
/// without entering user space. Linux only (<see cref="IsSupported"/>). Tracks how many bytes it holds,
/// so an owner knows what it still owes.
/// </summary>
/// <remarks>
/// A pipe costs two descriptors. <see cref="TryCreate"/> takes a <see cref="DescriptorHeadroom"/> and
/// gives the pipe back (returns null) rather than let it sit in the headroom, so pipes never take the
/// descriptors the runtime needs; a caller then falls back to read/write. docs/design.md, "Zero-copy echo".
/// </remarks>
public sealed class SplicePipe : IDisposable
{
    private int _readFd;
    private int _writeFd;

    private SplicePipe(int readFd, int writeFd, int capacity)
    {
        _readFd = readFd;
        _writeFd = writeFd;
        Capacity = capacity;
    }

    /// <summary>The read end's descriptor (-1 once disposed); for tests.</summary>
    internal int ReadFd => _readFd;

    /// <summary>The write end's descriptor (-1 once disposed); for tests.</summary>
    internal int WriteFd => _writeFd;

    /// <summary>True where splice(2) exists (Linux).</summary>
    public static bool IsSupported => OsConstants.Current.HasSplice;

    /// <summary>True if <paramref name="errno"/> from <see cref="FillFrom(StreamSocket, int, out Errno)"/> means this kind of socket cannot be spliced (EINVAL).</summary>
    public static bool IsNotSpliceable(Errno errno) => errno.Value == OsConstants.Current.EINVAL;

    /// <summary>Bytes in the pipe: spliced in and not yet out.</summary>
    public int Count { get; private set; }

    /// <summary>The pipe's capacity in bytes as the kernel reported it (the default when resizing was refused).</summary>
    public int Capacity { get; }

    /// <summary>
    /// Creates a pipe and asks for <paramref name="size"/> bytes of capacity (best effort: over the user's
    /// pipe quota the kernel keeps its default).
    /// </summary>
    /// <param name="size">Wanted capacity in bytes.</param>
    /// <param name="headroom">If given, a pipe whose descriptors land in the headroom is closed again.</param>
    /// <param name="errno">Why there is no pipe (EMFILE also when it would have taken the headroom).</param>
    /// <returns>The pipe, or null with <paramref name="errno"/> set.</returns>
    public static SplicePipe? TryCreate(int size, DescriptorHeadroom? headroom, out Errno errno)
    {
        if (!IsSupported)
        {
            errno = new Errno(OsConstants.Current.EINVAL);
            return null;
        }

        errno = Libc.Pipe(out var readFd, out var writeFd);
        if (errno.Value != 0)
        {
            return null;
        }

        // The write end is the higher of the two: lowest-free allocation gives it second.
        if (headroom is not null && headroom.IsInHeadroom(Source.FromFd(Math.Max(readFd, writeFd))))
        {
            _ = Libc.Close(readFd);
            _ = Libc.Close(writeFd);
            errno = new Errno(OsConstants.Current.EMFILE);
            return null;
        }

        var capacity = Libc.SetPipeSize(writeFd, size, out _);
        if (capacity < 0)
        {
            capacity = Libc.Fcntl(writeFd, OsConstants.Current.F_GETPIPE_SZ, 0);
        }

        return new SplicePipe(readFd, writeFd, capacity);
    }

    /// <summary>Splices up to <paramref name="count"/> bytes from <paramref name="socket"/> into the pipe.</summary>
    /// <returns>
    /// Bytes moved; 0 when the peer has finished sending; -1 with <paramref name="errno"/> set (EAGAIN: the
    /// socket has nothing, or the pipe is full). A short count does not mean the socket is drained: the
    /// pipe may have run out of slots.
    /// </returns>
    public int FillFrom(StreamSocket socket, int count, out Errno errno)
    {
        var n = Libc.Splice(socket.Source.Fd, _writeFd, count, out errno);
        if (n > 0)
        {
            Count += n;
        }

        return n;
    }

    /// <summary>Splices what the pipe holds into <paramref name="socket"/> until the pipe is empty or the socket refuses.</summary>
    /// <returns>Bytes moved; <paramref name="errno"/> is 0 if the pipe was emptied, else why it stopped (EAGAIN or an error).</returns>
    public int DrainTo(StreamSocket socket, out Errno errno)
    {
        var socketFd = socket.Source.Fd;
        var moved = 0;
        errno = default;
        while (Count > 0)
        {
            var n = Libc.Splice(_readFd, socketFd, Count, out errno);
            if (n <= 0)
            {
                break;
            }

            Count -= n;
            moved += n;
        }

        return moved;
    }

    /// <summary>Reads (copies) up to <paramref name="buffer"/>'s length of the pipe's bytes into user space.</summary>
    /// <returns>Bytes read, or -1 with <paramref name="errno"/> set.</returns>
    public int CopyOut(Span<byte> buffer, out Errno errno)
    {
        var n = Libc.Read(_readFd, buffer[..Math.Min(buffer.Length, Count)], out errno);
        if (n > 0)
        {
            Count -= n;
        }

        return n;
    }

    /// <summary>Empties the pipe, throwing its bytes away through <paramref name="scratch"/>.</summary>
    /// <returns>False if it could not be emptied (the pipe should then be disposed, not reused).</returns>
    public bool Discard(Span<byte> scratch)
    {
        while (Count > 0)
        {
            if (CopyOut(scratch, out _) <= 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Closes both ends; bytes still in the pipe are lost.</summary>
    public void Dispose()
    {
        Libc.CloseOnce(ref _readFd);
        Libc.CloseOnce(ref _writeFd);

        Count = 0;
    }
}
