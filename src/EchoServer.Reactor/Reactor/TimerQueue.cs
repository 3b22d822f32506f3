using System.Diagnostics;

namespace EchoServer.Reactor;

/// <summary>Identifies a timer so it can be cancelled.</summary>
/// <param name="Id">Unique per <see cref="EventLoop"/>; never 0.</param>
public readonly record struct TimerId(long Id);

/// <summary>
/// One-shot timers on a binary min-heap keyed by deadline: O(log n) insert and pop, n up to one per
/// connection (idle timeouts, re-armed per timeout period, not per read), and the next deadline at hand for
/// the poll timeout. Cancelled timers are skipped when they surface. docs/design.md, "Timers".
/// </summary>
internal sealed class TimerQueue
{
    private readonly PriorityQueue<long, long> _heap = new();
    private readonly Dictionary<long, Action<EventLoop>> _callbacks = [];
    private long _nextId;

    public int Count => _callbacks.Count;

    /// <summary>Heap entries, cancelled ones included; for tests.</summary>
    internal int HeapCount => _heap.Count;

    // Divide, never multiply first: Stopwatch ticks are nanoseconds on Linux, and ticks * 1000 would
    // overflow a long after about 107 days of uptime.
    private static readonly long s_ticksPerMs = Math.Max(1, Stopwatch.Frequency / 1000);

    public static long NowMs => Stopwatch.GetTimestamp() / s_ticksPerMs;

    public TimerId Add(TimeSpan delay, Action<EventLoop> callback)
    {
        var id = ++_nextId;

        // Round the deadline up from the exact time, not from NowMs: NowMs drops the fraction of the
        // current millisecond, and a deadline of NowMs + delay could then fire up to 1 ms early. A timer
        // never fires before its delay has passed (a zero delay is due at once).
        var delayMs = delay.TotalMilliseconds;
        var deadline = delayMs <= 0
            ? NowMs
            : (long)Math.Ceiling((Stopwatch.GetTimestamp() / (double)s_ticksPerMs) + delayMs);
        _callbacks.Add(id, callback);
        _heap.Enqueue(id, deadline);
        return new TimerId(id);
    }

    public bool Cancel(TimerId timer)
    {
        if (!_callbacks.Remove(timer.Id))
        {
            return false;
        }

        ForgetCancelledIfNoneLive();
        return true;
    }

    /// <summary>Milliseconds until the earliest live deadline (0 if due), or -1 with none.</summary>
    public int MillisecondsUntilNext()
    {
        while (_heap.TryPeek(out var id, out var deadline))
        {
            if (!_callbacks.ContainsKey(id))
            {
                _heap.Dequeue();
                continue;
            }

            var wait = deadline - NowMs;
            return wait <= 0 ? 0 : (int)Math.Min(wait, int.MaxValue);
        }

        return -1;
    }

    /// <summary>Runs every timer whose deadline has passed; timers added by a callback wait for the next turn.</summary>
    public void RunDue(EventLoop loop)
    {
        var now = NowMs;
        var limit = _nextId;
        while (_heap.TryPeek(out var id, out var deadline) && deadline <= now && id <= limit)
        {
            _heap.Dequeue();
            if (_callbacks.Remove(id, out var callback))
            {
                callback(loop);
            }
        }

        ForgetCancelledIfNoneLive();
    }

    /// <summary>With no live timer, drops the cancelled entries now: the loop skips the heap while Count is 0.</summary>
    private void ForgetCancelledIfNoneLive()
    {
        if (_callbacks.Count == 0)
        {
            _heap.Clear();
        }
    }
}
