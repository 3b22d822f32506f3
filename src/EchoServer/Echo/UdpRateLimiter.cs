using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Net;

namespace EchoServer.Echo;

/// <summary>
/// A token bucket per source IP (any port): each source may send <see cref="Burst"/> datagrams at once
/// and <see cref="RatePerSecond"/> a second after that. The table holds at most
/// <see cref="MaxSources"/> sources; a known source costs one dictionary lookup and no allocation.
/// </summary>
/// <remarks>
/// <para>UDP echo is a reflection vector: with a forged source address, anyone can aim our answers at a
/// victim. The per-source limit bounds what one victim receives from us.</para>
/// <para>A bucket that has refilled completely is the same as no bucket, so such "stale" entries are
/// dropped when the table is full. When it is full of active sources a new source is refused (counted
/// as rate limited) rather than evicting an active one, which would hand a forger a fresh burst per
/// victim. The sweep that finds stale entries runs at most every <see cref="SweepInterval"/>, so a flood
/// from new sources cannot make every datagram scan the table.</para>
/// </remarks>
internal sealed class UdpRateLimiter
{
    public const double DefaultRatePerSecond = 100;
    public const int DefaultBurst = 200;
    public const int DefaultMaxSources = 4096;

    private static readonly long SweepInterval = Stopwatch.Frequency / 10;

    private readonly Dictionary<DatagramAddress, Bucket> _buckets;
    private readonly double _tokensPerTick;
    private long _nextSweep = long.MinValue;

    /// <param name="ratePerSecond">Sustained datagrams per second per source.</param>
    /// <param name="burst">Datagrams a source may send at once (the bucket's capacity).</param>
    /// <param name="maxSources">The most sources tracked at once.</param>
    public UdpRateLimiter(double ratePerSecond = DefaultRatePerSecond, int burst = DefaultBurst, int maxSources = DefaultMaxSources)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSources, 1);
        RatePerSecond = ratePerSecond;
        Burst = burst;
        MaxSources = maxSources;
        _tokensPerTick = ratePerSecond / Stopwatch.Frequency;
        _buckets = new Dictionary<DatagramAddress, Bucket>(maxSources);
    }

    public double RatePerSecond { get; }

    public int Burst { get; }

    public int MaxSources { get; }

    /// <summary>Sources currently tracked.</summary>
    public int Count => _buckets.Count;

    /// <summary>Takes one token from the bucket of <paramref name="source"/>'s IP.</summary>
    /// <param name="source">The datagram's source; its port is ignored.</param>
    /// <param name="timestamp">Now, in <see cref="Stopwatch.GetTimestamp"/> ticks.</param>
    /// <returns>True if the datagram may be answered.</returns>
    public bool TryAcquire(in DatagramAddress source, long timestamp)
    {
        var key = source.WithoutPort();
        ref var bucket = ref CollectionsMarshal.GetValueRefOrNullRef(_buckets, key);
        if (Unsafe.IsNullRef(ref bucket))
        {
            if (_buckets.Count >= MaxSources && !SweepStale(timestamp))
            {
                return false;
            }

            _buckets.Add(key, new Bucket { Tokens = Burst - 1, Timestamp = timestamp });
            return true;
        }

        bucket.Tokens = Refilled(bucket, timestamp);
        bucket.Timestamp = timestamp;
        if (bucket.Tokens < 1)
        {
            return false;
        }

        bucket.Tokens -= 1;
        return true;
    }

    private double Refilled(in Bucket bucket, long timestamp)
    {
        var elapsed = Math.Max(0, timestamp - bucket.Timestamp);
        return Math.Min(Burst, bucket.Tokens + (elapsed * _tokensPerTick));
    }

    /// <returns>True if there is room for a new source now.</returns>
    private bool SweepStale(long timestamp)
    {
        if (timestamp < _nextSweep)
        {
            return false;
        }

        _nextSweep = timestamp + SweepInterval;
        foreach (var (key, bucket) in _buckets)
        {
            if (Refilled(bucket, timestamp) >= Burst)
            {
                // Removing during enumeration is allowed for Dictionary (since .NET Core 3.0).
                _buckets.Remove(key);
            }
        }

        return _buckets.Count < MaxSources;
    }

    private struct Bucket
    {
        public double Tokens;
        public long Timestamp;
    }
}
