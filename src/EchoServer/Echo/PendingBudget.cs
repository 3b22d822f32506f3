using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>
/// One loop's share of --max-pending-total: the memory its connections' tails hold (copied tails and bytes held
/// in their pipes). Used only on the loop's thread; the total is read by metrics from other threads, where a
/// slightly stale value is fine. docs/design.md, "One memory budget".
/// </summary>
/// <remarks>
/// Charged only when a write falls short (a tail is kept, <see cref="OwedOutput.Footprint"/>) and credited when the
/// tail has gone out or its connection closed, so a connection whose echoes go out whole never touches it. While
/// the share is reached, every read of the loop takes at most <see cref="ReadBytesAtLimit"/>: a connection that owes
/// reads nothing until it is paid (as always), and one that then falls short can add no more than that. Reads
/// shrink rather than stop, so no connection waits for an edge that will not come, and a client that reads slowly
/// is still served behind clients that never read.
/// </remarks>
internal sealed class PendingBudget
{
    /// <summary>The read size while the share is reached: the most a connection that falls short can then add.</summary>
    public const int ReadBytesAtLimit = 1024;

    /// <summary>At most one budget warning per this many milliseconds, for the whole process.</summary>
    private const long WarnEveryMs = 10_000;

    private static long s_lastWarningMs = long.MinValue;

    private readonly ILogger _logger;
    private readonly long _limit;
    private readonly long _share;
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
        _readBytes = readBytes;
        _logger = logger;
        ReadBytes = readBytes;
    }

    /// <summary>The bytes one read may take now: the loop's read size, or <see cref="ReadBytesAtLimit"/> while the share is reached.</summary>
    public int ReadBytes { get; private set; }

    /// <summary>True while the loop's tails hold at least its share.</summary>
    public bool IsReached { get; private set; }

    /// <summary>Bytes held for the loop's connections' tails now.</summary>
    public long Total => Volatile.Read(ref _total);

    /// <summary>A connection kept a tail it could not send, holding <paramref name="bytes"/>.</summary>
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

    /// <summary>A tail went out, or was given up at a close.</summary>
    /// <param name="bytes">What the tail was charged.</param>
    public void Credit(int bytes)
    {
        var total = _total - bytes;
        Volatile.Write(ref _total, total);
        if (IsReached && total < _share)
        {
            IsReached = false;
            ReadBytes = _readBytes;
        }
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
