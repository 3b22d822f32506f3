namespace EchoServer.Echo;

/// <summary>
/// The --max-connections-per-address limit (nginx's limit_conn), shared by every reactor: connections open per
/// <see cref="AddressGroup"/>. Touched only on accept and close, so one lock is cheap enough and keeps the
/// count and the entry's removal at zero in one step.
/// </summary>
/// <param name="limit">The most connections one group may have open at once (at least 1).</param>
internal sealed class AddressGate(int limit)
{
    private readonly Dictionary<AddressGroup, int> _open = [];
    private readonly Lock _lock = new();

    /// <summary>Groups with a connection open now; for tests.</summary>
    public int Groups
    {
        get
        {
            lock (_lock)
            {
                return _open.Count;
            }
        }
    }

    /// <summary>Counts a connection of <paramref name="group"/> in, unless the group has <c>limit</c> open already.</summary>
    /// <returns>True if the connection may be served.</returns>
    public bool TryEnter(AddressGroup group)
    {
        lock (_lock)
        {
            _open.TryGetValue(group, out var open);
            if (open >= limit)
            {
                return false;
            }

            _open[group] = open + 1;
            return true;
        }
    }

    /// <summary>Counts a closed connection of <paramref name="group"/> out; the group's entry goes with its last connection.</summary>
    public void Exit(AddressGroup group)
    {
        lock (_lock)
        {
            if (_open.TryGetValue(group, out var open) && open > 1)
            {
                _open[group] = open - 1;
            }
            else
            {
                _open.Remove(group);
            }
        }
    }
}
