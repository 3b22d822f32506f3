using System.Runtime.CompilerServices;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// One client (RFC 862): every byte read is written back, in order. Registered once for
/// readable and writable, edge-triggered, so the steady state makes no epoll_ctl calls (splice mode
/// has its own registration, below).
/// </summary>
/// <remarks>
/// <para>Per wakeup: first flush what is owed, then read and echo until the kernel has no more data
/// or the fairness budget runs out. Each read goes straight back out from the loop's shared buffer;
/// only a tail the kernel refuses is copied into a buffer of the connection's own, and then reading
/// stops until a writable event lets that tail go out, so TCP flow control pushes back on a client that
/// does not read (docs/design.md, "Backpressure"); at most <see cref="EchoOptions.MaxPendingBytes"/> is kept.</para>
/// <para>On Linux a connection whose reads are large echoes through the loop's pipe with splice(2)
/// instead (<see cref="LoopPipes"/>): socket → pipe → the same socket, the bytes never in user space.
/// A tail the socket refuses stays in the pipe, which the connection then keeps as its owed output,
/// under the same rules and bound. In that mode the connection is registered level-triggered, for
/// Readable while it owes nothing and for Writable only while it owes, and takes one splice per report
/// (a short splice does not prove the socket drained, so edge-triggered it would need an EAGAIN probe
/// every wakeup). docs/design.md, "Zero-copy echo".</para>
/// <para>After the client's FIN, everything still owed is sent and then the socket is closed.</para>
/// <para>An idle connection is one 56-byte object: the socket is held as a bare fd, the token is passed
/// in by the loop, the drain finds connections through the loop's registrations, owed output is
/// borrowed only while owed, and the idle timer and log address live in <see cref="ConnectionExtras"/>
/// only where enabled. docs/design.md, "Memory per idle connection".</para>
/// </remarks>
internal sealed class EchoConnection : IReadinessHandler
{
    private readonly EchoContext _context;
    private OwedOutput? _owed;
    private ConnectionExtras? _extras;
    private long _lastActivityMs;
    private int _fd;
    private InputMode _mode;
    private bool _peerFinished;
    private bool _readPaused;
    private bool _closed;

    /// <summary>Takes ownership of the connected socket <paramref name="fd"/>.</summary>
    public EchoConnection(int fd, EchoContext context, EventLoop eventLoop)
    {
        _fd = fd;
        _context = context;
        _lastActivityMs = eventLoop.NowMs;
    }

    /// <summary>The client's address as text, kept only when Debug logging is on (for log scopes).</summary>
    public string? Peer => _extras?.Peer;

    /// <summary>True while the connection echoes with splice(2); for tests.</summary>
    internal bool Splicing => _mode != InputMode.ReadWrite;

    /// <summary>Bytes read and not yet sent: the copied tail, or what the connection's pipe holds.</summary>
    private int OwedBytes => _owed?.Count ?? 0;

    /// <summary>Once registered as <paramref name="token"/>: arms the idle timer and keeps <paramref name="peer"/> for logs, where enabled.</summary>
    public void Start(EventLoop eventLoop, Token token, string? peer)
    {
        var timeout = _context.Options.IdleTimeout;
        if (timeout is null && peer is null)
        {
            return;
        }

        _extras = new ConnectionExtras(token, peer);
        if (timeout is { } idle)
        {
            // One delegate per connection, re-armed lazily: reads only stamp _lastActivityMs, and the
            // timer, when it fires, either closes or re-arms for the remaining time. No per-read timer work.
            _extras.IdleCheck = CheckIdle;
            _extras.IdleTimer = eventLoop.AddTimer(idle, _extras.IdleCheck);
        }
    }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        try
        {
            Serve(eventLoop, token, readiness);
        }
        catch (Exception) when (!_closed)
        {
            // The loop disposes a handler that throws and reports the exception; closing here first counts
            // the connection out (active count, --max-connections slot, close reason), which Dispose does not.
            Close(eventLoop, token, CloseReason.Error);
            throw;
        }
    }

    // Not inlined: its P/Invokes would sit inside OnReady's try, where the JIT does not inline them.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Serve(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (_mode != InputMode.ReadWrite)
        {
            OnSpliceReady(eventLoop, token, readiness);
            return;
        }

        var flushed = _owed is not null;
        if (flushed)
        {
            if (!Flush(eventLoop, token))
            {
                return;
            }

            if (_owed is not null)
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
            if (!ReadAndEcho(eventLoop, token, readiness))
            {
                return;
            }
        }

        if (_peerFinished && _owed is null)
        {
            Close(eventLoop, token, CloseReason.ClientFinished);
        }
    }

    /// <summary>True when every byte read has been echoed (the drain closes only such connections).</summary>
    public bool OwesNothing => _owed is null;

    /// <summary>The loop time (<see cref="EventLoop.NowMs"/>) of the last read or write.</summary>
    public long LastActivityMs => _lastActivityMs;

    /// <summary>Bytes one read or splice-in may take: capped at --max-pending-bytes, so what it leaves unsent never exceeds the bound.</summary>
    private Span<byte> ReadSpan
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => _context.ReadBuffer.AsSpan(0, Math.Min(_context.ReadBuffer.Length, _context.Options.MaxPendingBytes));
    }

    /// <summary>The read/write path: read and echo until drained, the budget is spent, or bytes are owed.</summary>
    /// <returns>False if the connection was closed.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // the read/write path is one method from OnReady on: docs/design.md, "The loop's hot path"
    private bool ReadAndEcho(EventLoop eventLoop, Token token, Readiness readiness)
    {
        var buffer = ReadSpan;
        var received = 0;
        for (var reads = 0; reads < _context.Options.ReadsPerWakeup; reads++)
        {
            var step = ReadOnce(eventLoop, token, buffer, readiness, ref received);
            if (step == Step.Again)
            {
                continue;
            }

            if (step == Step.Closed)
            {
                return false;
            }

            if (received >= _context.Options.SpliceThresholdBytes && EnterSplice(eventLoop, token))
            {
                return !_closed;
            }

            if (step == Step.Splice)
            {
                // It stopped at a large read to switch, but no pipe can be had: still edge-triggered, so come back for the rest.
                eventLoop.Schedule(token, readiness | Readiness.Readable);
            }

            return true;
        }

        // Budget spent with data possibly still queued: no new edge will come for it, so ask the loop
        // to call us again after the others have had their turn.
        eventLoop.Schedule(token, readiness);
        return true;
    }

    /// <summary>
    /// A wakeup that brought at least the splice threshold switches the connection to splice: registered
    /// level-triggered from now on, for what it can act on (<see cref="SpliceInterest"/>). Not after an
    /// end of stream (the connection is about to close), nor while no pipe can be had.
    /// </summary>
    /// <returns>True if it switched (or was closed trying: the caller checks <see cref="_closed"/>).</returns>
    private bool EnterSplice(EventLoop eventLoop, Token token)
    {
        if (_peerFinished || _context.Pipes?.LoopPipe(eventLoop.NowMs) is null)
        {
            return false;
        }

        _mode = InputMode.Splice;
        Reregister(eventLoop, token, SpliceInterest);
        return true;
    }

    /// <summary>Splice mode's registration: Readable while nothing is owed; Writable only while owed, so a client that does not read pushes back.</summary>
    private Interest SpliceInterest => _owed is null ? Interest.Readable | Interest.LevelTriggered : Interest.Writable | Interest.LevelTriggered;

    /// <summary>
    /// A report for a splicing connection, level-triggered: flush what is owed, then one splice in (and out until the
    /// pipe is empty or the socket refuses). No EAGAIN probe: if input remains, the next wait reports it again.
    /// </summary>
    /// <remarks>
    /// <para>The registration changes only when what is owed does (Readable ↔ Writable) or the mode does, so a
    /// steady stream makes no epoll_ctl calls. After owed bytes are flushed, one splice in follows at once
    /// (the client likely sent more while it was not read), as in the referee's c-splice.</para>
    /// <para>Back to read/write after two reports in a row that each brought less than a quarter of the splice
    /// threshold. With a gap between the two bounds, and not on one report, because in a bulk stream a report
    /// often finds only the first segments of a large write, or the tail of one the client's socket split; each
    /// needless switch costs two epoll_ctl calls and a copy. A report that first flushed owed bytes (its input is
    /// only what came meanwhile) or brought nothing leaves the mode as it is.</para>
    /// </remarks>
    private void OnSpliceReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        var owedBefore = _owed is not null; // as registered: Writable while owed, else Readable
        if (owedBefore)
        {
            if (!Flush(eventLoop, token) || _owed is not null)
            {
                return; // closed, or the socket still refuses: reported again when it has room
            }
        }

        var received = 0;
        var step = SpliceOnce(eventLoop, token, ReadSpan, readiness, ref received);
        if (step == Step.Blocked && !owedBefore)
        {
            // Reported readable, yet splice moved nothing: it stops at a TCP urgent mark (docs/design.md, "Urgent
            // data"). A plain read steps over the mark; if that finds nothing either, leave splice mode, since the
            // level-triggered registration would report the same readiness again at once.
            step = ReadOnce(eventLoop, token, ReadSpan, readiness, ref received);
            if (received == 0 && step != Step.Closed && !_peerFinished)
            {
                _mode = InputMode.ReadWrite;
            }
        }

        if (step == Step.Closed)
        {
            return;
        }

        if (_peerFinished)
        {
            // End of stream is read only with nothing owed: done (level-triggered, it would be reported again and again).
            Close(eventLoop, token, CloseReason.ClientFinished);
            return;
        }

        if (received >= _context.Options.SpliceThresholdBytes / 4)
        {
            _mode = InputMode.Splice;
        }
        else if (received > 0 && !owedBefore)
        {
            _mode = _mode == InputMode.Splice ? InputMode.SpliceWaning : InputMode.ReadWrite;
        }

        if (_mode == InputMode.ReadWrite)
        {
            // Back to the edge-triggered registration; the switch re-arms it, so input already waiting is reported.
            _readPaused = _owed is not null;
            Reregister(eventLoop, token, Interest.ReadWrite);
        }
        else if ((_owed is not null) != owedBefore)
        {
            Reregister(eventLoop, token, SpliceInterest);
        }
    }

    /// <summary>Changes the connection's interest; if the poller refuses, closes the connection.</summary>
    private void Reregister(EventLoop eventLoop, Token token, Interest interest)
    {
        try
        {
            eventLoop.Reregister(token, interest);
            _context.Counters.Reregistrations++;
        }
        catch (SyscallException ex)
        {
            CloseOnError(eventLoop, token, ex.Errno);
        }
    }

    /// <summary>How the connection takes its input (docs/design.md, "Zero-copy echo").</summary>
    private enum InputMode : byte
    {
        /// <summary>read(2) and send(2), registered edge-triggered for both directions.</summary>
        ReadWrite,

        /// <summary>splice(2) through the loop pipe, registered level-triggered.</summary>
        Splice,

        /// <summary>Splicing, and the last report brought little: one more such report and it goes back to read/write.</summary>
        SpliceWaning,
    }

    private enum Step
    {
        /// <summary>Read again: the socket may hold more.</summary>
        Again,

        /// <summary>Stop reading for this wakeup (drained, end of stream, or bytes owed).</summary>
        Done,

        /// <summary>A large read, all echoed: stop, to take the rest through the pipe (if one can be had).</summary>
        Splice,

        /// <summary>The connection was closed.</summary>
        Closed,

        /// <summary>splice(2) moved nothing and would block.</summary>
        Blocked,
    }

    /// <summary>One read(2) into the loop's buffer and its echo with send(2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Step ReadOnce(EventLoop eventLoop, Token token, Span<byte> buffer, Readiness readiness, ref int received)
    {
        var n = TcpSocket.Read(_fd, buffer, out var errno);
        if (n > 0)
        {
            received += n;
            var counters = _context.Counters;
            counters.BytesReceived += n;
            _lastActivityMs = eventLoop.NowMs;
            var written = TcpSocket.Write(_fd, buffer[..n], out errno);
            if (written < 0)
            {
                if (!errno.IsWouldBlock)
                {
                    return CloseOnError(eventLoop, token, errno) ? Step.Done : Step.Closed;
                }

                written = 0;
            }

            counters.BytesSent += written;
            if (written < n)
            {
                // Keep only the tail the kernel did not take, and stop reading until it has gone out.
                _owed = _context.RentOwed();
                _owed.Keep(buffer[written..n]);
                _readPaused = true;
                return Step.Done;
            }

            // A short read means the receive queue is empty and later data raises a new edge (netty's
            // edge-triggered transport relies on the same fact), which saves the read that would only
            // return EAGAIN. Not so for a FIN or RST that came with this edge: read() returns the data
            // first and leaves the end of stream for a read no new edge will prompt. Nor while urgent data is
            // pending: a read stops short at the urgent mark with the rest still queued.
            var shortReadDrains = (readiness & (Readiness.ReadClosed | Readiness.WriteClosed | Readiness.Error | Readiness.Priority)) == 0;
            if (n < buffer.Length && shortReadDrains)
            {
                return Step.Done;
            }

            // A large read: the rest of this wakeup's input goes through the pipe instead.
            return n >= _context.Options.SpliceThresholdBytes && _context.Pipes is not null ? Step.Splice : Step.Again;
        }

        if (n == 0)
        {
            return EndOfStream(eventLoop, token, readiness);
        }

        return errno.IsWouldBlock || CloseOnError(eventLoop, token, errno) ? Step.Done : Step.Closed;
    }

    /// <summary>One splice(2) from the socket into the loop pipe and back out to the socket.</summary>
    /// <remarks>
    /// The loop pipe is empty on entry, so EAGAIN means the socket's. Where no pipe can be had or the socket
    /// cannot be spliced, it leaves splice mode (returning <see cref="Step.Again"/> with nothing read).
    /// </remarks>
    private Step SpliceOnce(EventLoop eventLoop, Token token, Span<byte> buffer, Readiness readiness, ref int received)
    {
        var pipe = _context.Pipes!.LoopPipe(eventLoop.NowMs);
        if (pipe is null)
        {
            _mode = InputMode.ReadWrite; // no descriptors for a pipe: read and write meanwhile
            return Step.Again;
        }

        var n = pipe.FillFrom(_fd, buffer.Length, out var errno);
        if (n > 0)
        {
            received += n;
            var counters = _context.Counters;
            counters.BytesReceived += n;
            counters.BytesSpliced += n;
            _lastActivityMs = eventLoop.NowMs;
            counters.BytesSent += pipe.DrainTo(_fd, out errno);
            if (pipe.Count > 0)
            {
                if (!errno.IsWouldBlock)
                {
                    _context.Pipes.DiscardLoopPipe(buffer);
                    return CloseOnError(eventLoop, token, errno) ? Step.Done : Step.Closed;
                }

                if (!KeepPipeTail(eventLoop, pipe, buffer))
                {
                    Close(eventLoop, token, CloseReason.Error); // rather than send a stream with a hole in it
                    return Step.Closed;
                }

                _readPaused = true;
                return Step.Done;
            }

            return Step.Again;
        }

        if (n == 0)
        {
            return EndOfStream(eventLoop, token, readiness);
        }

        if (errno.IsWouldBlock)
        {
            return Step.Blocked;
        }

        if (SplicePipe.IsNotSpliceable(errno))
        {
            // This kind of socket cannot be spliced: stay on read/write.
            _mode = InputMode.ReadWrite;
            return Step.Again;
        }

        return CloseOnError(eventLoop, token, errno) ? Step.Done : Step.Closed;
    }

    /// <summary>read() or splice() returned 0: the client finished sending, or reset the connection.</summary>
    private Step EndOfStream(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if ((readiness & Readiness.Error) != 0)
        {
            // An error edge, yet the read ends cleanly: libkqueue cleared SO_ERROR to report the peer's
            // reset (docs/design.md, "kqueue over libkqueue"); a kernel leaves it for read() to return.
            Close(eventLoop, token, CloseReason.ClientReset);
            return Step.Closed;
        }

        _peerFinished = true;
        return Step.Done;
    }

    /// <summary>The socket refused part of a splice: the connection keeps those bytes as its owed output.</summary>
    /// <returns>False if the bytes could not be kept (the pipe could not be read back): the connection must close.</returns>
    private bool KeepPipeTail(EventLoop eventLoop, SplicePipe loopPipe, Span<byte> buffer)
    {
        // Keep the loop pipe with its bytes and give the loop an empty one; without a spare pipe (out of
        // descriptors, or the loop's pipe limit), copy the bytes out instead, as the read/write path would have.
        _owed = _context.RentOwed();
        if (_context.Pipes!.HandOver(eventLoop.NowMs) is { } owned)
        {
            _owed.KeepPipe(owned);
            return true;
        }

        var count = 0;
        while (loopPipe.Count > 0)
        {
            var n = loopPipe.CopyOut(buffer[count..], out _);
            if (n <= 0)
            {
                _context.Pipes.DiscardLoopPipe(buffer);
                return false;
            }

            count += n;
        }

        _owed.Keep(buffer[..count]);
        return true;
    }

    /// <returns>False if the connection was closed.</returns>
    private bool Flush(EventLoop eventLoop, Token token)
    {
        var owed = _owed!;
        if (owed.Pipe is { } pipe)
        {
            var moved = pipe.DrainTo(_fd, out var pipeErrno);
            if (moved > 0)
            {
                _context.Counters.BytesSent += moved;
                _lastActivityMs = eventLoop.NowMs;
            }

            if (pipe.Count > 0)
            {
                return pipeErrno.IsWouldBlock || CloseOnError(eventLoop, token, pipeErrno);
            }
        }

        while (owed.Count > 0)
        {
            var written = TcpSocket.Write(_fd, owed.Span, out var errno);
            if (written < 0)
            {
                return errno.IsWouldBlock || CloseOnError(eventLoop, token, errno);
            }

            _context.Counters.BytesSent += written;
            _lastActivityMs = eventLoop.NowMs;
            owed.Consume(written);
        }

        ReleaseOwed();
        return true;
    }

    /// <summary>Gives the owed output (and its pipe, if any) back to the loop.</summary>
    private void ReleaseOwed()
    {
        if (_owed is { } owed)
        {
            _owed = null;
            if (owed.Release() is { } pipe)
            {
                _context.Pipes!.Return(pipe);
            }

            _context.ReturnOwed(owed);
        }
    }

    private void CheckIdle(EventLoop eventLoop)
    {
        if (_closed)
        {
            return;
        }

        var extras = _extras!;
        var timeoutMs = (long)_context.Options.IdleTimeout!.Value.TotalMilliseconds;
        var idleMs = eventLoop.NowMs - _lastActivityMs;
        if (idleMs >= timeoutMs)
        {
            Close(eventLoop, extras.Token, CloseReason.IdleTimeout);
        }
        else
        {
            extras.IdleTimer = eventLoop.AddTimer(TimeSpan.FromMilliseconds(timeoutMs - idleMs), extras.IdleCheck!);
        }
    }

    private bool CloseOnError(EventLoop eventLoop, Token token, Errno errno)
    {
        if (_context.DebugLogging && !errno.IsPeerGone)
        {
            var error = errno.ToString();
            using var scope = EchoLog.ConnectionScope(_context.Logger, token.Value, Peer);
            EchoLog.IoFailed(_context.Logger, error);
        }

        Close(eventLoop, token, errno.IsPeerGone ? CloseReason.ClientReset : CloseReason.Error);
        return false;
    }

    public void Close(EventLoop eventLoop, Token token, CloseReason reason)
    {
        if (_closed)
        {
            return;
        }

        // Counted out first, exactly once, before anything here that could throw (epoll_ctl, a logger).
        _closed = true;
        _context.Counters.Active--;
        _context.Gate.Exit();
        _context.Counters.CountClose(reason);
        eventLoop.Deregister(token);
        if (_extras?.IdleCheck is not null)
        {
            eventLoop.CancelTimer(_extras.IdleTimer);
        }

        if (_context.DebugLogging)
        {
            using var scope = EchoLog.ConnectionScope(_context.Logger, token.Value, Peer);
            EchoLog.Closed(_context.Logger, reason, OwedBytes);
        }

        Dispose();
    }

    public void Dispose()
    {
        _closed = true;
        var fd = _fd;
        _fd = -1;
        if (fd >= 0)
        {
            TcpSocket.Close(fd);
        }

        ReleaseOwed();
    }
}
