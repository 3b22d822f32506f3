namespace EchoServer.Echo;

/// <summary>
/// The --max-connections limit, shared by every reactor: each loop counts its own connections, but
/// the limit is for the process, so admission goes through one atomic counter.
/// </summary>
/// <param name="limit">The most connections open at once; 0 = no limit.</param>
internal sealed class ConnectionGate(int limit)
{
    private int _open;
    private long _rejectedInBurst;

    /// <summary>Connections open now, over all reactors.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Counts a new connection in, unless the limit is reached.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= limit || limit == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        return false;
    }

    /// <summary>Counts a closed connection out.</summary>
    public void Exit() => Interlocked.Decrement(ref _open);

    /// <summary>Counts a connection turned away; 1 means it is the first of a burst (warn once per burst, not per reactor).</summary>
    public long CountRejection() => Interlocked.Increment(ref _rejectedInBurst);

    /// <summary>Ends a burst of rejections (a connection was let in).</summary>
    /// <returns>How many were turned away in the burst; 0 if there was none.</returns>
    public long EndRejectionBurst() => Volatile.Read(ref _rejectedInBurst) == 0 ? 0 : Interlocked.Exchange(ref _rejectedInBurst, 0);
}
