using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>
/// Accepts clients and gives each an <see cref="EchoConnection"/> on the same loop.
/// </summary>
/// <remarks>
/// <para>The listener is TCP or unix-domain (<see cref="IStreamListener"/>); either accepts stream sockets that
/// <see cref="StreamSocket"/> reads and writes alike. Only TCP_NODELAY is TCP-specific: on a unix socket
/// setsockopt returns an error, which is ignored.</para>
/// <para>Out of descriptors (EMFILE/ENFILE), or once an accepted fd lands in the <see cref="DescriptorHeadroom"/>,
/// it pauses and retries with a doubling delay (10 ms to 1 s), logging once per burst, while existing
/// connections are served: docs/design.md, "Descriptor headroom".</para>
/// <para>Over --max-connections a new client is accepted and closed at once rather than left in the
/// backlog: in the backlog it would wait with no answer (its SYN was already acknowledged by the
/// kernel), and under edge-triggered readiness nothing would prompt us to look at it again. Closing
/// tells the client at once, frees the backlog for clients that come when there is room, and is counted.
/// --max-connections-per-address is checked first, the same way, and counted apart.</para>
/// </remarks>
internal sealed class EchoListener(IStreamListener listener, EchoContext context) : IReadinessHandler
{
    private const int FirstBackoffMs = 10;
    private const int MaxBackoffMs = 1000;

    private readonly DescriptorHeadroom _headroom = new();
    private readonly bool _perSocketOobInline = PrepareListener(listener, context.Options);
    private readonly KeepAlivePolicy? _keepAlive = listener is TcpListener ? context.Options.KeepAlive : null;
    private bool _keepAliveFailureLogged;
    private int _backoffMs;
    private int _failedAttempts;
    private bool _timerArmed;

    public Token Token { get; set; }

    /// <summary>Connections this listener accepted and served (not those rejected over the limit).</summary>
    public long Accepted { get; private set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (!_timerArmed)
        {
            AcceptPending(eventLoop);
        }
    }

    /// <summary>Stops accepting: deregisters and closes the listening socket.</summary>
    public void Close(EventLoop eventLoop)
    {
        eventLoop.Deregister(Token);
        Dispose();
    }

    private void AcceptPending(EventLoop eventLoop)
    {
        for (var i = 0; i < context.Options.AcceptsPerWakeup; i++)
        {
            if (!listener.TryAccept(out var socket, out var errno))
            {
                if (errno.IsWouldBlock)
                {
                    EndPauseBurst();
                    return;
                }

                if (errno.IsConnectionAborted || errno.IsPeerGone)
                {
                    continue;
                }

                BackOff(eventLoop, errno, -1);
                return;
            }

            // Progress: the next pause starts again from the shortest delay. The burst (and its one warning)
            // lasts until the backlog is drained, so a server kept at its limit by churning clients does
            // not log a pair of lines per client.
            _backoffMs = 0;

            var group = context.Addresses is null ? null : AddressGroup.Of(socket.RemoteEndPoint);
            if (group is { } counted && !context.Addresses!.TryEnter(counted))
            {
                RejectPerAddress(socket, counted);
            }
            else if (!context.Gate.TryEnter(out var burst))
            {
                ExitGroup(group);
                Reject(socket, burst);
            }
            else
            {
                if (burst > 0)
                {
                    EchoLog.LimitCleared(context.Logger, burst);
                }

                if (!Adopt(eventLoop, socket, group))
                {
                    return;
                }
            }

            if (_headroom.IsInHeadroom(socket.Source))
            {
                // Every lower descriptor is taken: stop before the table is full (see DescriptorHeadroom).
                BackOff(eventLoop, default, socket.Source.Fd);
                return;
            }
        }

        eventLoop.Schedule(Token, Readiness.Readable);
    }

    private void Reject(StreamSocket socket, long placeInBurst)
    {
        // RST rather than FIN: the client learns at once that it was refused, not that we echoed nothing.
        _ = socket.SetResetOnClose();
        socket.Dispose();

        context.Counters.Rejected++;
        if (placeInBurst == 1)
        {
            EchoLog.LimitReached(context.Logger, context.Options.MaxConnections);
        }
    }

    /// <summary>Over --max-connections-per-address: reset at once, counted apart from the global limit's rejections.</summary>
    private void RejectPerAddress(StreamSocket socket, AddressGroup group)
    {
        _ = socket.SetResetOnClose();
        socket.Dispose();
        context.Counters.RejectedPerAddress++;
        EchoLog.AddressLimitReached(context.Logger, group, context.Options.MaxConnectionsPerAddress);
    }

    private void ExitGroup(AddressGroup? group)
    {
        if (group is { } counted)
        {
            context.Addresses!.Exit(counted);
        }
    }

    /// <returns>False if the loop could not take the connection (it was closed and accepting backs off).</returns>
    private bool Adopt(EventLoop eventLoop, StreamSocket socket, AddressGroup? group)
    {
        // Echoes are small writes that must go out at once; Nagle would hold them for the client's ACK.
        // (A unix socket has no Nagle; there the call fails with EOPNOTSUPP, harmlessly.)
        _ = socket.SetNoDelay(true);
        if (_perSocketOobInline)
        {
            _ = socket.SetOobInline(true);
        }

        if (_keepAlive is { } keepAlive)
        {
            FindVanishedPeer(socket, keepAlive);
        }

        var connection = new EchoConnection(socket, context, eventLoop);
        Token token;
        try
        {
            token = eventLoop.Register(socket.Source, Interest.ReadWrite, connection);
        }
        catch (SyscallException e)
        {
            // epoll_ctl can fail with ENOMEM or ENOSPC (fs.epoll.max_user_watches): as short of resources as EMFILE.
            connection.Dispose();
            context.Gate.Exit();
            ExitGroup(group);
            BackOff(eventLoop, e.Errno, -1);
            return false;
        }

        context.Counters.Active++;
        context.Counters.Accepted++;
        Accepted++;
        var peer = context.DebugLogging ? socket.RemoteEndPoint?.ToString() : null;
        connection.Start(eventLoop, token, peer, group);
        if (context.DebugLogging)
        {
            using var scope = EchoLog.ConnectionScope(context.Logger, token.Value, peer);
            EchoLog.Accepted(context.Logger);
        }

        return true;
    }

    private void EndPauseBurst()
    {
        if (_failedAttempts > 0)
        {
            EchoLog.AcceptResumed(context.Logger, _failedAttempts);
            _failedAttempts = 0;
        }
    }

    /// <summary>Pauses accepting and retries on a doubling timer; warns once per burst.</summary>
    /// <param name="eventLoop">The loop that owns the listener.</param>
    /// <param name="errno">Why accepting failed, when it did.</param>
    /// <param name="fdInHeadroom">The accepted fd that landed in the headroom, or -1.</param>
    private void BackOff(EventLoop eventLoop, Errno errno, int fdInHeadroom)
    {
        _backoffMs = _backoffMs == 0 ? FirstBackoffMs : Math.Min(_backoffMs * 2, MaxBackoffMs);
        if (_failedAttempts++ == 0)
        {
            if (fdInHeadroom >= 0)
            {
                EchoLog.AcceptPausedNearLimit(context.Logger, fdInHeadroom, _headroom.Limit, _headroom.Headroom, _backoffMs);
            }
            else
            {
                EchoLog.AcceptPaused(context.Logger, errno.ToString(), _backoffMs);
            }
        }

        _timerArmed = true;
        eventLoop.AddTimer(TimeSpan.FromMilliseconds(_backoffMs), RetryAccepting);
    }

    /// <summary>The back-off timer: accepts again once there is room, else waits twice as long.</summary>
    private TimeSpan? RetryAccepting(EventLoop loop)
    {
        if (!loop.IsRegistered(Token))
        {
            _timerArmed = false;
            return null;
        }

        // Probing first keeps a retry from accepting into a table that is still full.
        if (!_headroom.HasRoom())
        {
            _backoffMs = Math.Min(_backoffMs * 2, MaxBackoffMs);
            _failedAttempts++;
            return TimeSpan.FromMilliseconds(_backoffMs);
        }

        _timerArmed = false;
        AcceptPending(loop);
        return null;
    }

    public void Dispose()
    {
        listener.Dispose();
    }

    /// <summary>
    /// Keepalive and the unacknowledged-data bound, per accepted socket: macOS does not pass the idle time or
    /// TCP_RXT_CONNDROPTIME from a listener to its sockets (docs/design.md, "Vanished peers"). A failure is logged once
    /// per listener (say TCP_MAXUNACKTIME on a FreeBSD before 14); the connection is served either way.
    /// </summary>
    private void FindVanishedPeer(StreamSocket socket, KeepAlivePolicy keepAlive)
    {
        var errno = socket.SetKeepAlive(keepAlive.Idle, keepAlive.Interval, keepAlive.Count);
        var what = "keepalive";
        if (errno.Value == 0)
        {
            errno = socket.SetUnacknowledgedTimeout(keepAlive.Bound);
            what = "the unacknowledged-data timeout";
        }

        if (errno.Value != 0 && !_keepAliveFailureLogged)
        {
            _keepAliveFailureLogged = true;
            EchoLog.KeepAliveFailed(context.Logger, what, errno.ToString());
        }
    }

    /// <summary>What a listener gets before it is served: urgent data inline, and on TCP the --socket-buffers sizes.</summary>
    /// <returns>True if each accepted socket needs SO_OOBINLINE set (see <see cref="KeepUrgentDataInline"/>).</returns>
    private static bool PrepareListener(IStreamListener listener, EchoOptions options)
    {
        if (options.SocketBufferBytes > 0 && listener is TcpListener tcp)
        {
            // On the listener: its sockets inherit the sizes, with a receive window offered for them (docs/design.md, "Socket buffers").
            var errno = tcp.SetBufferSizes(options.SocketBufferBytes, options.SocketBufferBytes);
            if (errno.Value != 0)
            {
                throw new SyscallException("setsockopt(SO_RCVBUF/SO_SNDBUF)", errno);
            }
        }

        return KeepUrgentDataInline(listener);
    }

    /// <summary>
    /// An urgent byte is echoed in its place in the stream (docs/design.md, "Urgent data"): SO_OOBINLINE on a TCP
    /// listener, which its sockets inherit; a unix listener's sockets inherit nothing, so they get it one by one.
    /// </summary>
    /// <returns>True if each accepted socket needs the option set.</returns>
    private static bool KeepUrgentDataInline(IStreamListener listener)
    {
        if (listener is not TcpListener tcp)
        {
            return listener is UnixListener;
        }

        var errno = tcp.SetOobInline(true);
        if (errno.Value != 0)
        {
            throw new SyscallException("setsockopt(SO_OOBINLINE)", errno);
        }

        return false;
    }
}
