namespace EchoServer.Echo;

/// <summary>
/// How the server finds a TCP client that vanished without a FIN: keepalive probes after <see cref="Idle"/> with nothing
/// received, every <see cref="Interval"/>, <see cref="Count"/> of them; and the same bound on bytes sent and never
/// acknowledged. Either way the connection ends within <see cref="Bound"/>. docs/design.md, "Vanished peers".
/// </summary>
internal sealed record KeepAlivePolicy(TimeSpan Idle, TimeSpan Interval, int Count)
{
    /// <summary>
    /// 1m:15s:4, found within 2 minutes. The kernel's own (7200 s + 9 × 75 s, which nginx, HAProxy and systemd keep
    /// when they turn keepalive on) holds a vanished client's descriptor for over two hours; this server has no other
    /// timeout by default, and probing after a minute of quiet also keeps NAT entries of quiet clients alive.
    /// </summary>
    public static readonly KeepAlivePolicy Default = new(TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(15), 4);

    /// <summary>The most time a vanished peer holds its connection: idle + count × interval.</summary>
    public TimeSpan Bound => Idle + (Count * Interval);
}
