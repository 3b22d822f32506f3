using System.Numerics;

namespace EchoBench;

/// <summary>
/// A preallocated log-linear histogram of durations in nanoseconds (HdrHistogram's layout, simplified):
/// exact below 128 ns, then 64 buckets per power of two, so a reported percentile is within 1/64 (1.6 %)
/// of the true value. Recording is an index computation and an increment: no allocation.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 128;
    private const int SubBuckets = 64;
    private const int MaxExponent = 62;

    private readonly long[] _counts = new long[Linear + ((MaxExponent - 6) * SubBuckets)];

    /// <summary>How many values were recorded.</summary>
    public long Count { get; private set; }

    /// <summary>Records one duration (negative values count as 0).</summary>
    public void Record(long nanoseconds)
    {
        _counts[IndexOf(Math.Max(0, nanoseconds))]++;
        Count++;
    }

    /// <summary>Forgets everything recorded.</summary>
    public void Reset()
    {
        Array.Clear(_counts);
        Count = 0;
    }

    /// <summary>The value at or below which <paramref name="quantile"/> (0..1) of the recorded values lie, in nanoseconds; 0 when empty.</summary>
    public long ValueAt(double quantile)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(Math.Clamp(quantile, 0, 1) * Count);
        rank = Math.Max(rank, 1);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return MidpointOf(i);
            }
        }

        return MidpointOf(_counts.Length - 1);
    }

    private static int IndexOf(long value)
    {
        if (value < Linear)
        {
            return (int)value;
        }

        var msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = msb - 6;
        var index = Linear + ((msb - 7) * SubBuckets) + (int)((value >> shift) - SubBuckets);
        return Math.Min(index, ((MaxExponent - 6) * SubBuckets) + Linear - 1);
    }

    private static long MidpointOf(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var msb = ((index - Linear) / SubBuckets) + 7;
        var shift = msb - 6;
        var sub = ((index - Linear) % SubBuckets) + SubBuckets;
        return ((long)sub << shift) + ((1L << shift) / 2);
    }
}
