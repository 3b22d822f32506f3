namespace EchoServer.Echo;

/// <summary>
/// The --max-connections limit, shared by every reactor: each loop counts its own connections, but
/// the limit is for the process, so admission goes through one atomic counter.
/// </summary>
/// <param name="limit">The most connections open at once; 0 = no limit.</param>
internal sealed class ConnectionGate(int limit)
{
    private int _open;

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
}
