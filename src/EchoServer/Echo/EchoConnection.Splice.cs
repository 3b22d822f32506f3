using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// The splice path (Linux): a connection whose reads are large echoes through the loop's pipe with splice(2):
/// socket → pipe → the same socket, the bytes never in user space (<see cref="LoopPipes"/>). A tail the socket
/// refuses stays in the pipe, which the connection then keeps as its owed output, under the same rules and bound.
/// Registered level-triggered, for Readable while it owes nothing and for Writable only while it owes, and splices
/// again in one report only while each splice fills the pipe (a short splice does not prove the socket drained, so
/// edge-triggered it would need an EAGAIN probe every wakeup). docs/design.md, "Zero-copy echo".
/// </summary>
internal sealed partial class EchoConnection
{
    /// <summary>Splice mode's registration: Readable while nothing is owed; Writable only while owed, so a client that does not read pushes back.</summary>
    private Interest SpliceInterest => _owed is null ? Interest.Readable | Interest.LevelTriggered : Interest.Writable | Interest.LevelTriggered;

    /// <summary>
    /// A wakeup that brought at least the splice threshold switches the connection to splice: registered
    /// level-triggered from now on, for what it can act on (<see cref="SpliceInterest"/>). Not while no pipe can be had.
    /// </summary>
    /// <returns>True if it switched (or was closed trying).</returns>
    private bool EnterSplice(EventLoop eventLoop, Token token)
    {
        if (_context.Pipes?.LoopPipe(eventLoop.NowMs) is null)
        {
            return false;
        }

        _state = ConnectionState.Splice;
        Reregister(eventLoop, token, SpliceInterest);
        return true;
    }

    /// <summary>
    /// A report for a splicing connection, level-triggered: flush what is owed, then splice in (and out until the
    /// pipe is empty or the socket refuses) while the pipe comes back full (<see cref="SpliceWhileFull"/>). No
    /// EAGAIN probe: if input remains, the next wait reports it again.
    /// </summary>
    /// <remarks>
    /// <para>The registration changes only when what is owed does (Readable ↔ Writable) or the mode does, so a
    /// steady stream makes no epoll_ctl calls. After owed bytes are flushed, splicing in follows at once
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
        if (owedBefore && (!Flush(eventLoop, token) || _owed is not null))
        {
            return; // closed, or the socket still refuses: reported again when it has room
        }

        var received = 0;
        var step = SpliceWhileFull(eventLoop, token, ReadSpan, readiness, ref received);
        if (step == Step.Blocked && !owedBefore && received == 0)
        {
            // Reported readable, yet splice moved nothing: it stops at a TCP urgent mark (docs/design.md, "Urgent
            // data"). A plain read steps over the mark; if that finds nothing either, leave splice mode, since the
            // level-triggered registration would report the same readiness again at once.
            step = ReadOnce(eventLoop, token, ReadSpan, readiness, ref received);
            if (received == 0 && step != Step.Closed)
            {
                _state = ConnectionState.ReadWrite;
            }
        }

        if (step == Step.Closed)
        {
            return;
        }

        if (received >= _context.Options.SpliceThresholdBytes / 4)
        {
            _state = ConnectionState.Splice;
        }
        else if (received > 0 && !owedBefore)
        {
            _state = _state == ConnectionState.Splice ? ConnectionState.SpliceWaning : ConnectionState.ReadWrite;
        }

        if (_state == ConnectionState.ReadWrite)
        {
            // Back to the edge-triggered registration; the switch re-arms it, so input already waiting is reported.
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

    /// <summary>
    /// Splices while each splice fills at least three quarters of its ask, up to the read budget
    /// (<see cref="EchoOptions.ReadsPerWakeup"/>): a full pipe says more is likely queued. A client that got ahead
    /// is caught up in one turn, so its window opens wide and it sends from its own CPU again, rather than from
    /// ours at every window update (docs/design.md, "Bulk: who pays for a closed window").
    /// </summary>
    private Step SpliceWhileFull(EventLoop eventLoop, Token token, Span<byte> buffer, Readiness readiness, ref int received)
    {
        var full = buffer.Length - (buffer.Length / 4);
        var step = Step.Again;
        for (var splices = 0; splices < _context.Options.ReadsPerWakeup; splices++)
        {
            var before = received;
            step = SpliceOnce(eventLoop, token, buffer, readiness, ref received);
            if (step != Step.Again || _state == ConnectionState.ReadWrite || received - before < full)
            {
                return step;
            }
        }

        return step;
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
            _state = ConnectionState.ReadWrite; // no descriptors for a pipe: read and write meanwhile
            return Step.Again;
        }

        var n = pipe.FillFrom(_socket, buffer.Length, out var errno);
        if (n > 0)
        {
            received += n;
            var counters = _context.Counters;
            counters.BytesReceived += n;
            counters.BytesSpliced += n;
            _lastActivityMs = (uint)eventLoop.NowMs;
            counters.BytesSent += pipe.DrainTo(_socket, out errno);
            if (pipe.Count == 0)
            {
                return Step.Again;
            }

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

            return Step.Done;
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
            _state = ConnectionState.ReadWrite;
            return Step.Again;
        }

        return CloseOnError(eventLoop, token, errno) ? Step.Done : Step.Closed;
    }

    /// <summary>The socket refused part of a splice: the connection keeps those bytes as its owed output.</summary>
    /// <returns>False if the bytes could not be kept (the pipe could not be read back): the connection must close.</returns>
    private bool KeepPipeTail(EventLoop eventLoop, SplicePipe loopPipe, Span<byte> buffer)
    {
        // Keep the loop pipe with its bytes and give the loop an empty one; without a spare pipe (out of
        // descriptors, or the loop's pipe limit), copy the bytes out instead, as the read/write path would have.
        var owed = _context.RentOwed();
        if (_context.Pipes!.HandOver(eventLoop.NowMs) is { } owned)
        {
            owed.KeepPipe(owned);
            Owe(owed);
            return true;
        }

        var count = 0;
        while (loopPipe.Count > 0)
        {
            var n = loopPipe.CopyOut(buffer[count..], out _);
            if (n <= 0)
            {
                _context.ReturnOwed(owed);
                _context.Pipes.DiscardLoopPipe(buffer);
                return false;
            }

            count += n;
        }

        owed.Keep(buffer[..count]);
        Owe(owed);
        return true;
    }
}
