namespace EchoServer.Echo;

/// <summary>
/// Counters of one event loop. Written only by the loop thread; read by metrics and stats from other
/// threads, where a slightly stale value is fine (a 64-bit read is never torn on the 64-bit targets).
/// </summary>
internal sealed class EchoCounters
{
    private readonly long[] _closed = new long[Enum.GetValues<CloseReason>().Length];

    public long Accepted { get; set; }

    public long Rejected { get; set; }

    /// <summary>Connections reset at once because their address had --max-connections-per-address open (not in <see cref="Rejected"/>).</summary>
    public long RejectedPerAddress { get; set; }

    public int Active { get; set; }

    public long BytesReceived { get; set; }

    public long BytesSent { get; set; }

    /// <summary>Of <see cref="BytesReceived"/>, the bytes that came in through splice(2) (zero-copy echo).</summary>
    public long BytesSpliced { get; set; }

    /// <summary>Interest changes of connections (epoll_ctl MOD): splice mode's level-triggered registration and its switches.</summary>
    public long Reregistrations { get; set; }

    public long Closed(CloseReason reason) => Volatile.Read(ref _closed[(int)reason]);

    public void CountClose(CloseReason reason) => _closed[(int)reason]++;
}
