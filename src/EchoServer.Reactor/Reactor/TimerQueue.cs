using System.Diagnostics;

namespace EchoServer.Reactor;

/// <summary>Identifies a timer so it can be cancelled.</summary>
/// <param name="Id">Unique per <see cref="EventLoop"/>; never 0.</param>
public readonly record struct TimerId(long Id);

/// <summary>
/// What a timer callback returns (as redis's <c>ae</c> time events do): the delay until it runs again, or null when
/// it is done.
/// </summary>
public delegate TimeSpan? TimerCallback(EventLoop eventLoop);

/// <summary>
/// Timers on a binary min-heap keyed by deadline: O(log n) insert and pop, n up to one per connection (idle
/// timeouts, re-armed per timeout period, not per read), and the next deadline at hand for the poll timeout.
/// A callback's return value re-arms it under the same id, so a periodic timer can be cancelled like any other.
/// Cancelled timers are skipped when they surface. docs/design.md, "Timers".
/// </summary>
internal sealed class TimerQueue
{
    private readonly PriorityQueue<long, long> _heap = new();
    private readonly Dictionary<long, TimerCallback> _callbacks = [];
    private readonly List<(long Id, TimeSpan Delay)> _rearmed = [];
    private long _nextId;

    public int Count => _callbacks.Count;

    /// <summary>Heap entries, cancelled ones included; for tests.</summary>
    internal int HeapCount => _heap.Count;

    // Divide, never multiply first: Stopwatch ticks are nanoseconds on Linux, and ticks * 1000 would
    // overflow a long after about 107 days of uptime.
    private static readonly long s_ticksPerMs = Math.Max(1, Stopwatch.Frequency / 1000);

    public static long NowMs => Stopwatch.GetTimestamp() / s_ticksPerMs;

    public TimerId Add(TimeSpan delay, TimerCallback callback)
    {
        var id = ++_nextId;
        _callbacks.Add(id, callback);
        Schedule(id, delay);
        return new TimerId(id);
    }

    private void Schedule(long id, TimeSpan delay)
    {
        // Round the deadline up from the exact time, not from NowMs: NowMs drops the fraction of the
        // current millisecond, and a deadline of NowMs + delay could then fire up to 1 ms early. A timer
        // never fires before its delay has passed (a zero delay is due at once).
        var delayMs = delay.TotalMilliseconds;
        var deadline = delayMs <= 0
            ? NowMs
            : (long)Math.Ceiling((Stopwatch.GetTimestamp() / (double)s_ticksPerMs) + delayMs);
        _heap.Enqueue(id, deadline);
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

    /// <summary>
    /// Runs every timer whose deadline has passed, each at most once: timers added or re-armed by a callback wait
    /// for the next turn. A callback that cancels its own timer ends it whatever it returns.
    /// </summary>
    public void RunDue(EventLoop loop)
    {
        var now = NowMs;
        var limit = _nextId;
        while (_heap.TryPeek(out var id, out var deadline) && deadline <= now && id <= limit)
        {
            _heap.Dequeue();
            if (!_callbacks.TryGetValue(id, out var callback))
            {
                continue; // cancelled
            }

            var next = callback(loop);
            if (!_callbacks.ContainsKey(id))
            {
                continue; // it cancelled itself
            }

            if (next is { } delay)
            {
                _rearmed.Add((id, delay));
            }
            else
            {
                _callbacks.Remove(id);
            }
        }

        foreach (var (id, delay) in _rearmed)
        {
            Schedule(id, delay);
        }

        _rearmed.Clear();
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
