namespace EchoServer.Echo;

/// <summary>
/// The --max-connections limit, shared by every reactor: each loop counts its own connections, but
/// the limit is for the process, so admission goes through one atomic word.
/// </summary>
/// <remarks>
/// The word holds the open connections (low 32 bits) and the rejections since the last admission (high
/// 32 bits). Keeping both in one word makes "a connection was let in after a rejection" part of the same
/// compare-and-swap as the admission itself: with two counters, a reactor admitting a connection that
/// raced with another reactor's rejection would end the burst while the limit still held, and the next
/// rejection would warn again.
/// </remarks>
/// <param name="limit">The most connections open at once; 0 = no limit.</param>
internal sealed class ConnectionGate(int limit)
{
    private const long OpenMask = 0xFFFF_FFFF;
    private const long OneRejection = 1L << 32;
    private const long MaxRejections = uint.MaxValue;

    private long _state;

    /// <summary>Connections open now, over all reactors.</summary>
    public int Open => (int)(Volatile.Read(ref _state) & OpenMask);

    /// <summary>Counts a new connection in, unless the limit is reached; then counts it as rejected.</summary>
    /// <param name="burst">
    /// Admitted: how many were rejected since the previous admission (0 = none; more means this admission
    /// ends a burst). Rejected: this rejection's place in the current burst (1 = the first).
    /// </param>
    /// <returns>True if the connection may be served.</returns>
    public bool TryEnter(out long burst)
    {
        var state = Volatile.Read(ref _state);
        while (true)
        {
            var open = state & OpenMask;
            var rejected = (long)((ulong)state >> 32);
            var admit = limit == 0 || open < limit;
            var next = admit ? open + 1 : state + (rejected < MaxRejections ? OneRejection : 0);
            var seen = Interlocked.CompareExchange(ref _state, next, state);
            if (seen == state)
            {
                burst = admit ? rejected : Math.Min(rejected + 1, MaxRejections);
                return admit;
            }

            state = seen;
        }
    }

    /// <summary>Counts a closed connection out.</summary>
    public void Exit() => Interlocked.Decrement(ref _state); // open is never 0 here, so no borrow reaches the high half
}
