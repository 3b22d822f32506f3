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

    /// <summary>
    /// Turns on TCP keepalive: after <paramref name="idle"/> with nothing received, the kernel sends a probe every
    /// <paramref name="interval"/>; after <paramref name="count"/> unanswered probes it drops the connection, and the next
    /// read or write fails with ETIMEDOUT (<see cref="Errno.IsTimedOut"/>). A dead peer is so found within
    /// idle + count × interval. Keepalive only runs while nothing sent is unacknowledged: for that case see
    /// <see cref="SetUnacknowledgedTimeout"/>. Times are whole seconds (rounded up), 1 s to 32767 s; count 1 to 127.
    /// On a unix socket it fails (EOPNOTSUPP or ENOPROTOOPT). On Windows the count needs Windows 10 1703 or later
    /// (earlier, and under Wine, the error is returned with keepalive on at the system's count).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A time or the count is outside the range every OS takes.</exception>
    public Errno SetKeepAlive(TimeSpan idle, TimeSpan interval, int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, TcpOptionConstants.MaxKeepAliveCount);
        return SocketCalls.SetKeepAlive(Source.Handle, WholeSeconds(idle), WholeSeconds(interval), count);
    }

    /// <summary>
    /// Bounds how long bytes this side sent may stay unacknowledged (retransmitted, or probing a zero window) before the
    /// kernel drops the connection with ETIMEDOUT: TCP_USER_TIMEOUT on Linux (milliseconds), TCP_RXT_CONNDROPTIME on
    /// macOS (whole seconds, counted from the first retransmission), TCP_MAXUNACKTIME on FreeBSD 14 and later (whole
    /// seconds; older FreeBSD returns an error), TCP_MAXRT on Windows (whole seconds of retransmission; Wine returns an
    /// error). On Linux it also replaces the probe count as keepalive's limit. On Linux and the BSDs
    /// <see cref="TimeSpan.Zero"/> restores the OS's own rule (Linux: about 15 minutes of retransmissions, net.ipv4.tcp_retries2).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public Errno SetUnacknowledgedTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        return SocketCalls.SetUnacknowledgedTimeout(Source.Handle, (long)Math.Ceiling(timeout.TotalMilliseconds));
    }

    /// <summary>
    /// Sets SO_RCVBUF and SO_SNDBUF (0 leaves that one to the kernel's autotuning, which a fixed size turns off). Linux
    /// doubles the value for its own bookkeeping and caps it at net.core.rmem_max / wmem_max. On a connected TCP socket the
    /// receive window's scale was fixed by the handshake: to size an accepted socket's buffers, set them on the listener
    /// (<see cref="TcpListener.SetBufferSizes"/>), which its sockets inherit.
    /// </summary>
    public Errno SetBufferSizes(int receiveBytes, int sendBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(receiveBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(sendBytes);
        return SocketCalls.SetBufferSizes(Source.Handle, receiveBytes, sendBytes);
    }

    /// <summary>SO_RCVBUF and SO_SNDBUF as the kernel reports them (on Linux, twice the size asked for).</summary>
    public Errno GetBufferSizes(out int receiveBytes, out int sendBytes) => SocketCalls.GetBufferSizes(Source.Handle, out receiveBytes, out sendBytes);

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

    private static int WholeSeconds(TimeSpan time, [CallerArgumentExpression(nameof(time))] string? name = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(time, TimeSpan.FromSeconds(1), name);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(time, TimeSpan.FromSeconds(TcpOptionConstants.MaxKeepAliveSeconds), name);
        return (int)Math.Ceiling(time.TotalSeconds);
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
