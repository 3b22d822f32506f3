using System.Net;
using System.Runtime.CompilerServices;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A connected, non-blocking stream socket: TCP, or unix-domain (what a unix listener accepts). Every operation
/// returns at once: a result of -1 with <see cref="Errno.IsWouldBlock"/> means "wait for the next readiness event".
/// </summary>
/// <remarks>
/// A value type, so a server can hold thousands of connections without an object per socket: it is the
/// <see cref="Source"/> and the operations on it. Copying one copies the handle, not its ownership; whoever owns the
/// socket deregisters it and then disposes it once. The default value holds no socket.
/// </remarks>
public readonly struct StreamSocket : IDisposable, IEquatable<StreamSocket>
{
    /// <summary>Takes ownership of a connected, non-blocking stream socket.</summary>
    public StreamSocket(Source source)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(source.Handle, nameof(source));
        Source = source;
    }

    /// <summary>What to register with the event loop.</summary>
    public Source Source { get; }

    /// <summary>
    /// Starts a non-blocking TCP connect(2). The stream is usable once it reports writable; then check
    /// <see cref="TakeError"/> (a refused connect shows as writable plus an error).
    /// </summary>
    /// <exception cref="SyscallException">The connect failed at once (not EINPROGRESS).</exception>
    public static StreamSocket Connect(IPEndPoint endPoint)
    {
        if (OperatingSystem.IsWindows())
        {
            return WinsockStreams.Connect(endPoint);
        }

        var fd = IpSocket.Open(endPoint, OsConstants.Current.SOCK_STREAM, out var addr, out var length);
        var errno = Libc.Connect(fd, addr, length);
        if (errno.Value != 0 && !errno.IsInProgress && !errno.IsInterrupted)
        {
            _ = Libc.Close(fd);
            throw new SyscallException("connect", errno);
        }

        return new StreamSocket(Source.FromFd(fd));
    }

    /// <summary>accept(2) on <paramref name="listenFd"/>: the one way the listeners accept.</summary>
    internal static bool Accept(int listenFd, out StreamSocket socket, out Errno errno)
    {
        var fd = Libc.Accept(listenFd, out _, out errno);
        socket = fd < 0 ? default : new StreamSocket(Source.FromFd(fd));
        return fd >= 0;
    }

    /// <summary>Reads into <paramref name="buffer"/>.</summary>
    /// <returns>Bytes read; 0 when the peer has finished sending; -1 with <paramref name="errno"/> set.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the caller's read path: docs/design.md, "The loop's hot path"
    public int Read(Span<byte> buffer, out Errno errno) =>
        OperatingSystem.IsWindows() ? WinsockStreams.Read(Source.Handle, buffer, out errno) : Libc.Read(Source.Fd, buffer, out errno);

    /// <summary>Writes from <paramref name="buffer"/>; a gone peer gives EPIPE, never SIGPIPE.</summary>
    /// <returns>Bytes the kernel took (possibly fewer than offered); -1 with <paramref name="errno"/> set.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Write(ReadOnlySpan<byte> buffer, out Errno errno) =>
        OperatingSystem.IsWindows() ? WinsockStreams.Write(Source.Handle, buffer, out errno) : Libc.Send(Source.Fd, buffer, out errno);

    /// <summary>shutdown(SHUT_WR): sends FIN after the queued bytes; reading stays possible.</summary>
    public Errno ShutdownWrite() => SocketCalls.Shutdown(Source.Handle, OsConstants.Current.SHUT_WR);

    /// <summary>Sets TCP_NODELAY (no Nagle delay for small writes); on a unix socket it fails harmlessly (EOPNOTSUPP).</summary>
    public Errno SetNoDelay(bool on) => SocketCalls.SetOption(Source.Handle, OsConstants.Current.IPPROTO_TCP, OsConstants.Current.TCP_NODELAY, on ? 1 : 0);

    /// <summary>
    /// Sets SO_OOBINLINE: an urgent byte (MSG_OOB) stays in its place in the stream. A socket accepted from a TCP
    /// listener inherits it from <see cref="TcpListener.SetOobInline"/>; one accepted from a unix listener does not.
    /// </summary>
    public Errno SetOobInline(bool on) => SocketCalls.SetOption(Source.Handle, OsConstants.Current.SOL_SOCKET, OsConstants.Current.SO_OOBINLINE, on ? 1 : 0);

    /// <summary>Reads and clears the socket's pending error (SO_ERROR), e.g. after a non-blocking connect.</summary>
    public Errno TakeError()
    {
        var c = OsConstants.Current;
        var errno = SocketCalls.GetOption(Source.Handle, c.SOL_SOCKET, c.SO_ERROR, out var value);
        return errno.Value != 0 ? errno : new Errno(value);
    }

    /// <summary>Makes the next close(2) send RST instead of FIN (SO_LINGER with a zero timeout).</summary>
    public Errno SetResetOnClose() => SocketCalls.SetLingerZero(Source.Handle);

    /// <summary>The remote address, or null if the socket is not connected (or not IP).</summary>
    public IPEndPoint? RemoteEndPoint => SocketCalls.RemoteEndPoint(Source.Handle);

    /// <summary>The local address, or null on error (or not IP).</summary>
    public IPEndPoint? LocalEndPoint => SocketCalls.LocalEndPoint(Source.Handle);

    /// <summary>Closes the socket (a default value holds none). Deregister it from its loop first; dispose one copy only.</summary>
    public void Dispose()
    {
        if (Source.IsValid)
        {
            _ = SocketCalls.Close(Source.Handle);
        }
    }

    /// <inheritdoc/>
    public bool Equals(StreamSocket other) => Source == other.Source;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is StreamSocket other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => Source.GetHashCode();

    /// <summary>Same handle.</summary>
    public static bool operator ==(StreamSocket left, StreamSocket right) => left.Equals(right);

    /// <summary>Different handles.</summary>
    public static bool operator !=(StreamSocket left, StreamSocket right) => !left.Equals(right);
}
