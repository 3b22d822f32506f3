using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A non-blocking, close-on-exec listening unix-domain stream socket bound to a path in the file
/// system. It accepts <see cref="StreamSocket"/>s.
/// </summary>
/// <remarks>
/// <para>bind(2) fails with EADDRINUSE while any file exists at the path, including the socket file
/// a crashed server left behind. <see cref="Bind"/> then removes the file only if it is a socket and a
/// connect(2) to it is refused (nothing listens); a live listener or a file that is not a socket makes
/// it fail and leaves the file alone.</para>
/// <para><see cref="Dispose"/> removes the socket file, if it is still the one this listener created
/// (never for an <see cref="Adopt">adopted</see> socket).</para>
/// </remarks>
public sealed class UnixListener : IStreamListener
{
    private readonly ulong _inode;
    private readonly bool _ownsFile;
    private int _fd;

    private UnixListener(int fd, string path, ulong inode, bool ownsFile)
    {
        _fd = fd;
        LocalPath = path;
        _inode = inode;
        _ownsFile = ownsFile;
    }

    /// <inheritdoc/>
    public Source Source => Source.FromFd(_fd);

    /// <summary>The path the socket is bound to.</summary>
    public string LocalPath { get; }

    /// <summary>Creates, binds and listens on <paramref name="path"/>.</summary>
    /// <param name="path">The socket file to create (at most 107 UTF-8 bytes on Linux, 103 on macOS/FreeBSD).</param>
    /// <param name="backlog">The accept queue length; -1 for SOMAXCONN.</param>
    /// <exception cref="ArgumentException">The path is empty, contains NUL or is too long for sockaddr_un.</exception>
    /// <exception cref="SyscallException">A call failed. EADDRINUSE means another process listens on the path;
    /// EEXIST, that a file that is not a socket is in the way (it is left alone); EACCES, ENOENT and so on come
    /// from bind(2) as usual.</exception>
    public static UnixListener Bind(string path, int backlog = -1)
    {
        var length = SockAddrUn.Encode(path, out var addr);
        var c = OsConstants.Current;
        var fd = Libc.Socket(UnixSocketConstants.AF_UNIX, c.SOCK_STREAM, out var errno);
        if (fd < 0)
        {
            throw new SyscallException("socket(AF_UNIX)", errno);
        }

        try
        {
            errno = Libc.Bind(fd, addr, length);
            if (errno.IsAddressInUse)
            {
                RemoveStaleSocket(path, addr, length);
                errno = Libc.Bind(fd, addr, length);
            }

            if (errno.Value != 0)
            {
                throw new SyscallException($"bind({path})", errno);
            }

            try
            {
                SyscallException.ThrowIfError($"listen({path})", Libc.Listen(fd, backlog < 0 ? c.SOMAXCONN : backlog));
                SyscallException.ThrowIfError($"lstat({path})", Libc.LStat(path, out var status));
                return new UnixListener(fd, path, status.Inode, ownsFile: true);
            }
            catch
            {
                _ = Libc.Unlink(path);
                throw;
            }
        }
        catch
        {
            _ = Libc.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Takes over a listening unix stream socket this process inherited (systemd socket activation): sets
    /// O_NONBLOCK and FD_CLOEXEC, and closes it on dispose, but never removes its file, which belongs to
    /// whoever created the socket.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not a listening unix stream socket.</exception>
    /// <exception cref="SyscallException">fcntl failed.</exception>
    public static UnixListener Adopt(Source source)
    {
        var description = SocketDescription.TakeOver(source.Fd, d => d.IsUnixListener, "a listening unix stream socket");
        return new UnixListener(source.Fd, description.UnixPath ?? string.Empty, 0, ownsFile: false);
    }

    /// <inheritdoc/>
    public bool TryAccept(out StreamSocket socket, out Errno errno) => StreamSocket.Accept(_fd, out socket, out errno);

    /// <summary>Removes the socket file (if it is still ours) and closes the listening socket.</summary>
    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd < 0)
        {
            return;
        }

        // Unlink first, so that no client connects to a path whose listener is already gone. Only our own
        // file: if someone replaced it since, it is theirs.
        if (_ownsFile && Libc.LStat(LocalPath, out var status).Value == 0 && status.Exists && status.IsSocket && status.Inode == _inode)
        {
            _ = Libc.Unlink(LocalPath);
        }

        _ = Libc.Close(fd);
    }

    // bind said EADDRINUSE: something is at the path. Remove it only if it is a socket nobody listens on.
    private static void RemoveStaleSocket(string path, in SockAddrUn addr, uint length)
    {
        var c = OsConstants.Current;
        var inUse = new Errno(c.EADDRINUSE);
        SyscallException.ThrowIfError($"lstat({path})", Libc.LStat(path, out var status));
        if (!status.Exists)
        {
            return; // Gone meanwhile; bind again.
        }

        if (!status.IsSocket)
        {
            throw new SyscallException($"bind({path}): the path exists and is not a socket, so it was left alone;", new Errno(c.EEXIST));
        }

        var probe = Libc.Socket(UnixSocketConstants.AF_UNIX, c.SOCK_STREAM, out var errno);
        if (probe < 0)
        {
            throw new SyscallException("socket(AF_UNIX)", errno);
        }

        errno = Libc.Connect(probe, addr, length);
        _ = Libc.Close(probe);

        // Connected, in progress, or EAGAIN (Linux: a listener whose backlog is full): someone listens.
        if (errno.Value == 0 || errno.IsInProgress || errno.IsWouldBlock || errno.IsInterrupted)
        {
            throw new SyscallException($"bind({path}): another process is listening on it;", inUse);
        }

        if (errno.Value != c.ECONNREFUSED)
        {
            throw new SyscallException($"connect({path}) to check for a stale socket", errno);
        }

        // Refused: a socket file without a listener, left by a process that did not clean up.
        errno = Libc.Unlink(path);
        if (errno.Value != 0 && errno.Value != c.ENOENT)
        {
            throw new SyscallException($"unlink({path}) of a stale socket", errno);
        }
    }
}
