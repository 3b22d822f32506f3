using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>
/// One loop's share of --max-pending-total: the bytes its connections owe (copied tails and bytes held in their
/// pipes), and the connections parked because the share was reached. Used only on the loop's thread; the total is
/// read by metrics from other threads, where a slightly stale value is fine. docs/design.md, "One memory budget".
/// </summary>
/// <remarks>
/// <para>Charged only when a write falls short (a tail is kept), credited as the tail goes out, so a connection whose
/// echoes go out whole never touches it. While the share is reached, every read of the loop is capped at
/// <see cref="ReadBytesAtLimit"/> (the most a connection that then falls short can add), and a connection that has
/// just paid its tail does not read again: it is parked.</para>
/// <para>Edge-triggered readiness brings no new edge for input that arrived while parked, so once the total falls
/// to three quarters of the share, every parked connection is scheduled, oldest first, and reads until EAGAIN. The
/// gap between the two marks keeps a total that hovers at the share from scheduling the whole list per credit.</para>
/// </remarks>
internal sealed class PendingBudget
{
    /// <summary>The read size while the share is reached: what a connection that owes nothing may still take per read.</summary>
    public const int ReadBytesAtLimit = 1024;

    /// <summary>At most one budget warning per this many milliseconds, for the whole process.</summary>
    private const long WarnEveryMs = 10_000;

    private static long s_lastWarningMs = long.MinValue;

    private readonly Queue<(Token Token, IParkable Connection)> _parked = new();
    private readonly ILogger _logger;
    private readonly long _limit;
    private readonly long _share;
    private readonly long _resumeBelow;
    private readonly int _readBytes;
    private long _total;

    /// <param name="limit">--max-pending-total, for the process.</param>
    /// <param name="loops">How many loops share it (--reactors): each gets an equal share.</param>
    /// <param name="readBytes">The loop's read size while under its share.</param>
    /// <param name="logger">Where the rate-limited warning goes.</param>
    public PendingBudget(long limit, int loops, int readBytes, ILogger logger)
    {
        _limit = limit;
        _share = Math.Max(1, limit / loops);
        _resumeBelow = _share - (_share / 4);
        _readBytes = readBytes;
        _logger = logger;
        ReadBytes = readBytes;
    }

    /// <summary>A connection that can be parked here and resumed later.</summary>
    public interface IParkable
    {
        /// <summary>True while it waits here (not closed meanwhile).</summary>
        bool IsParked { get; }

        /// <summary>Reads again (the caller schedules it); false if it was closed meanwhile.</summary>
        bool Unpark();
    }

    /// <summary>The bytes one read may take now: the loop's read size, or <see cref="ReadBytesAtLimit"/> while the share is reached.</summary>
    public int ReadBytes { get; private set; }

    /// <summary>True while the loop's connections owe at least its share.</summary>
    public bool IsReached { get; private set; }

    /// <summary>Bytes owed by the loop's connections now.</summary>
    public long Total => Volatile.Read(ref _total);

    /// <summary>Connections waiting for the total to fall; for metrics (read from other threads).</summary>
    public int Parked { get; private set; }

    /// <summary>A connection kept a tail of <paramref name="bytes"/> it could not send.</summary>
    public void Charge(int bytes)
    {
        var total = _total + bytes;
        Volatile.Write(ref _total, total);
        if (!IsReached && total >= _share)
        {
            IsReached = true;
            ReadBytes = Math.Min(_readBytes, ReadBytesAtLimit);
            Warn(total);
        }
    }

    /// <summary>Owed bytes went out (or were given up at a close); resumes the parked connections once the total has fallen far enough.</summary>
    /// <param name="bytes">How many bytes are owed no more.</param>
    /// <param name="eventLoop">The loop, to schedule parked connections on; null when the loop itself is being disposed.</param>
    public void Credit(int bytes, EventLoop? eventLoop)
    {
        var total = _total - bytes;
        Volatile.Write(ref _total, total);
        if (IsReached && total < _resumeBelow)
        {
            IsReached = false;
            ReadBytes = _readBytes;
            if (eventLoop is not null)
            {
                ResumeAll(eventLoop);
            }
        }
    }

    /// <summary>Parks <paramref name="connection"/> (which has stopped reading) until the total falls.</summary>
    public void Park(Token token, IParkable connection)
    {
        if (_parked.Count >= 64 && _parked.Count >= 2 * Parked)
        {
            // Connections that closed while parked leave their entries behind: drop them before the queue doubles.
            var live = _parked.Where(entry => entry.Connection.IsParked).ToList();
            _parked.Clear();
            live.ForEach(_parked.Enqueue);
        }

        _parked.Enqueue((token, connection));
        Parked++;
    }

    /// <summary>A parked connection was closed: its entry stays in the queue (dropped when the queue is next compacted or emptied).</summary>
    public void Leave() => Parked--;

    /// <summary>Schedules every parked connection, oldest first: each reads until EAGAIN, and parks again if the share is reached by then.</summary>
    private void ResumeAll(EventLoop eventLoop)
    {
        while (_parked.TryDequeue(out var entry))
        {
            if (entry.Connection.Unpark())
            {
                // Input that came while parked raised edges that were consumed unread, and a FIN among them would
                // not come again: ReadClosed makes the resumed connection read until EAGAIN or end of stream.
                eventLoop.Schedule(entry.Token, Readiness.Readable | Readiness.ReadClosed);
            }
        }

        Parked = 0;
    }

    private void Warn(long total)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref s_lastWarningMs);
        if ((last == long.MinValue || now - last >= WarnEveryMs) && Interlocked.CompareExchange(ref s_lastWarningMs, now, last) == last)
        {
            EchoLog.BudgetReached(_logger, _limit, total, _share);
        }
    }
}
