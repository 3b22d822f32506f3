using EchoServer.Reactor;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// One client (RFC 862): every byte read is written back, in order. Registered once for
/// readable and writable, edge-triggered, so the steady state makes no epoll_ctl calls.
/// </summary>
/// <remarks>
/// <para>Per wakeup: first flush what is owed, then read and echo until the kernel has no more data
/// or the fairness budget runs out. Each read goes straight back out from the loop's shared buffer;
/// only a tail the kernel refuses is copied into a buffer of the connection's own, and then reading
/// stops until a writable event lets that tail go out. So a client that sends without reading is
/// pushed back by TCP flow control, not absorbed by our memory: a connection never keeps more than
/// one read, at most <see cref="EchoOptions.MaxPendingBytes"/>.</para>
/// <para>After the client's FIN, everything still owed is sent and then the socket is closed.</para>
/// </remarks>
internal sealed class EchoConnection : IReadinessHandler
{
    private readonly TcpSocket _socket;
    private readonly EchoContext _context;
    private readonly Action<EventLoop>? _idleCheck;
    private PendingOutput _pending;
    private bool _peerFinished;
    private bool _readPaused;
    private bool _closed;
    private long _lastActivityMs;
    private TimerId _idleTimer;

    public EchoConnection(TcpSocket socket, EchoContext context, EventLoop eventLoop)
    {
        _socket = socket;
        _context = context;
        _lastActivityMs = eventLoop.NowMs;
        if (context.Options.IdleTimeout is { } timeout)
        {
            // One delegate per connection, re-armed lazily: reads only stamp _lastActivityMs, and the
            // timer, when it fires, either closes or re-arms for the remaining time. No per-read timer work.
            _idleCheck = CheckIdle;
            _idleTimer = eventLoop.AddTimer(timeout, _idleCheck);
        }
    }

    public Token Token { get; set; }

    /// <summary>The client's address as text, kept only when Debug logging is on (for log scopes).</summary>
    public string? Peer { get; set; }

    internal EchoConnection? Next { get; set; }

    internal EchoConnection? Previous { get; set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (_pending.Count > 0)
        {
            if (!Flush(eventLoop))
            {
                return;
            }

            if (_pending.Count > 0)
            {
                // The kernel's send buffer is still full: reading more would only move bytes from the
                // kernel's receive queue into ours. Leave them there, so TCP's window pushes back on the
                // client, and wait for the writable edge.
                _readPaused = true;
                return;
            }
        }

        // Read on input edges, and after a pause for backpressure: edges that came while paused were
        // consumed unread. A writable-only edge otherwise has nothing to read, so skip the EAGAIN read.
        if (!_peerFinished && (_readPaused || (readiness & (Readiness.Readable | Readiness.ReadClosed | Readiness.Error)) != 0))
        {
            _readPaused = false;
            if (!ReadAndEcho(eventLoop, readiness))
            {
                return;
            }
        }

        if (_peerFinished && _pending.Count == 0)
        {
            Close(eventLoop, CloseReason.ClientFinished);
        }
    }

    /// <summary>During a drain: closes the connection if it owes nothing and has been quiet for the drain's quiet period.</summary>
    /// <returns>True if it was closed.</returns>
    public bool CloseIfQuiet(EventLoop eventLoop)
    {
        if (_pending.Count == 0 && eventLoop.NowMs - _lastActivityMs >= (long)_context.Options.DrainQuietPeriod.TotalMilliseconds)
        {
            Close(eventLoop, CloseReason.Shutdown);
            return true;
        }

        return false;
    }

    /// <returns>False if the connection was closed.</returns>
    private bool ReadAndEcho(EventLoop eventLoop, Readiness readiness)
    {
        // Reads are capped at --max-pending-bytes, so what one read leaves unsent never exceeds the bound.
        var buffer = _context.ReadBuffer.AsSpan(0, Math.Min(_context.ReadBuffer.Length, _context.Options.MaxPendingBytes));
        var counters = _context.Counters;

        // A short read means the receive queue is empty and later data raises a new edge (netty's
        // edge-triggered transport relies on the same fact), which saves the read that would only
        // return EAGAIN. Not so for a FIN or RST that came with this edge: read() returns the data
        // first and leaves the end of stream for a read no new edge will prompt.
        var shortReadDrains = (readiness & (Readiness.ReadClosed | Readiness.WriteClosed | Readiness.Error)) == 0;
        for (var reads = 0; reads < _context.Options.ReadsPerWakeup; reads++)
        {
            var n = _socket.Read(buffer, out var errno);
            if (n > 0)
            {
                counters.BytesReceived += n;
                _lastActivityMs = eventLoop.NowMs;
                var written = _socket.Write(buffer[..n], out errno);
                if (written < 0)
                {
                    if (!errno.IsWouldBlock)
                    {
                        return CloseOnError(eventLoop, errno);
                    }

                    written = 0;
                }

                counters.BytesSent += written;
                if (written < n)
                {
                    // Keep only the tail the kernel did not take, and stop reading until it has gone out.
                    _pending.Keep(buffer[written..n]);
                    _readPaused = true;
                    return true;
                }

                if (n < buffer.Length && shortReadDrains)
                {
                    return true;
                }

                continue;
            }

            if (n == 0)
            {
                if ((readiness & Readiness.Error) != 0)
                {
                    // An error edge, yet read() ends cleanly: libkqueue cleared SO_ERROR to report the peer's
                    // reset (docs/design.md, "kqueue over libkqueue"); a kernel leaves it for read() to return.
                    Close(eventLoop, CloseReason.ClientReset);
                    return false;
                }

                _peerFinished = true;
                return true;
            }

            return errno.IsWouldBlock || CloseOnError(eventLoop, errno);
        }

        // Budget spent with data possibly still queued: no new edge will come for it, so ask the loop
        // to call us again after the others have had their turn.
        eventLoop.Schedule(Token, readiness);
        return true;
    }

    /// <returns>False if the connection was closed.</returns>
    private bool Flush(EventLoop eventLoop)
    {
        while (_pending.Count > 0)
        {
            var written = _socket.Write(_pending.Span, out var errno);
            if (written < 0)
            {
                return errno.IsWouldBlock || CloseOnError(eventLoop, errno);
            }

            _context.Counters.BytesSent += written;
            _lastActivityMs = eventLoop.NowMs;
            _pending.Consume(written);
        }

        return true;
    }

    private void CheckIdle(EventLoop eventLoop)
    {
        if (_closed)
        {
            return;
        }

        var timeoutMs = (long)_context.Options.IdleTimeout!.Value.TotalMilliseconds;
        var idleMs = eventLoop.NowMs - _lastActivityMs;
        if (idleMs >= timeoutMs)
        {
            Close(eventLoop, CloseReason.IdleTimeout);
        }
        else
        {
            _idleTimer = eventLoop.AddTimer(TimeSpan.FromMilliseconds(timeoutMs - idleMs), _idleCheck!);
        }
    }

    private bool CloseOnError(EventLoop eventLoop, Errno errno)
    {
        if (_context.DebugLogging && !errno.IsPeerGone)
        {
            var error = errno.ToString();
            using var scope = EchoLog.ConnectionScope(_context.Logger, Token.Value, Peer);
            EchoLog.IoFailed(_context.Logger, error);
        }

        Close(eventLoop, errno.IsPeerGone ? CloseReason.ClientReset : CloseReason.Error);
        return false;
    }

    public void Close(EventLoop eventLoop, CloseReason reason)
    {
        if (_closed)
        {
            return;
        }

        eventLoop.Deregister(Token);
        if (_idleCheck is not null)
        {
            eventLoop.CancelTimer(_idleTimer);
        }

        _context.Unlink(this);
        _context.Gate.Exit();
        _context.Counters.CountClose(reason);
        if (_context.DebugLogging)
        {
            using var scope = EchoLog.ConnectionScope(_context.Logger, Token.Value, Peer);
            EchoLog.Closed(_context.Logger, reason, _pending.Count);
        }

        Dispose();
        if (_context.Draining && _context.Counters.Active == 0)
        {
            eventLoop.Stop();
        }
    }

    public void Dispose()
    {
        _closed = true;
        _socket.Dispose();
        _pending.Release();
    }
}
