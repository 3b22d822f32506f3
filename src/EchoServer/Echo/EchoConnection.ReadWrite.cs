using System.Runtime.CompilerServices;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// The read/write path: registered once for readable and writable, edge-triggered, so the steady state makes no
/// epoll_ctl calls. Per wakeup: first flush what is owed, then read and echo until the kernel has no more data or
/// the fairness budget runs out. Each read goes straight back out from the loop's shared buffer; only a tail the
/// kernel refuses is kept, and then reading stops until a writable event lets that tail go out.
/// </summary>
internal sealed partial class EchoConnection
{
    // Not inlined: its P/Invokes would sit inside OnReady's try, where the JIT does not inline them. The read/write
    // path is one method from here on: docs/design.md, "The loop's hot path".
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Serve(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (_state != ConnectionState.ReadWrite)
        {
            OnSpliceReady(eventLoop, token, readiness);
            return;
        }

        var hadOwed = _owed is not null;
        if (hadOwed && (!Flush(eventLoop, token) || _owed is not null))
        {
            // Closed, or the kernel's send buffer is still full: reading more would only move bytes from the
            // kernel's receive queue into ours. Leave them there, so TCP's window pushes back on the client,
            // and wait for the writable edge.
            return;
        }

        // Read on input edges, and after a pause for backpressure: edges that came while paused were
        // consumed unread. A writable-only edge otherwise has nothing to read, so skip the EAGAIN read.
        if (hadOwed || (readiness & (Readiness.Readable | Readiness.ReadClosed | Readiness.Error)) != 0)
        {
            ReadAndEcho(eventLoop, token, readiness);
        }
    }

    /// <summary>Reads and echoes until drained, the budget is spent, bytes are owed, or the connection closes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReadAndEcho(EventLoop eventLoop, Token token, Readiness readiness)
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

            if (step == Step.Closed || (received >= _context.Options.SpliceThresholdBytes && EnterSplice(eventLoop, token)))
            {
                return;
            }

            if (step == Step.Splice)
            {
                // It stopped at a large read to switch, but no pipe can be had: still edge-triggered, so come back for the rest.
                eventLoop.Schedule(token, readiness | Readiness.Readable);
            }

            return;
        }

        // Budget spent with data possibly still queued: no new edge will come for it, so ask the loop
        // to call us again after the others have had their turn, to read (this turn may have come from a writable edge).
        eventLoop.Schedule(token, readiness | Readiness.Readable);
    }

    /// <summary>One read(2) into the loop's buffer and its echo with send(2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Step ReadOnce(EventLoop eventLoop, Token token, Span<byte> buffer, Readiness readiness, ref int received)
    {
        var n = _socket.Read(buffer, out var errno);
        if (n > 0)
        {
            received += n;
            var counters = _context.Counters;
            counters.BytesReceived += n;
            _lastActivityMs = (uint)eventLoop.NowMs;
            var written = _socket.Write(buffer[..n], out errno);
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
                // Keep only the tail the kernel did not take; reading stops until it has gone out.
                var owed = _context.RentOwed();
                owed.Keep(buffer[written..n]);
                Owe(owed);
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
}
