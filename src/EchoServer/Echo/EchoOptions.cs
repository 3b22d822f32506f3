namespace EchoServer.Echo;

/// <summary>Tunables of the echo service.</summary>
internal sealed record EchoOptions
{
    /// <summary>The default bound on bytes owed to one client before the server stops reading from it.</summary>
    public const int DefaultMaxPendingBytes = 256 * 1024;

    /// <summary>
    /// The most bytes one connection keeps for a client that is not reading: reads are capped at this
    /// size, and a connection that owes anything stops reading until it is paid, so TCP flow control
    /// pushes back on a client that sends without reading.
    /// </summary>
    public int MaxPendingBytes { get; init; } = DefaultMaxPendingBytes;

    /// <summary>The default of <see cref="MaxPendingTotal"/>: 64 MiB (docs/design.md, "One memory budget").</summary>
    public const long DefaultMaxPendingTotal = 64L * 1024 * 1024;

    /// <summary>
    /// The most bytes all connections together may owe (copied tails and bytes held in their pipes), split evenly over
    /// the loops: at a loop's share its reads shrink and connections that owed bytes stop reading until the total falls.
    /// </summary>
    public long MaxPendingTotal { get; init; } = DefaultMaxPendingTotal;

    /// <summary>Connections from one IPv4 address or IPv6 /64 beyond this many are accepted and reset at once; 0 = no limit.</summary>
    public int MaxConnectionsPerAddress { get; init; }

    /// <summary>Connections beyond this many are accepted and closed at once (and counted as rejected); 0 = no limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary>Close a connection that has had no traffic for this long; null = never.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>Keepalive and the unacknowledged-data bound on accepted TCP connections (not unix ones); null = the kernel's own.</summary>
    public KeepAlivePolicy? KeepAlive { get; init; } = KeepAlivePolicy.Default;

    /// <summary>SO_RCVBUF and SO_SNDBUF for accepted TCP connections, set on the listener; 0 = the kernel's autotuning.</summary>
    public int SocketBufferBytes { get; init; }

    /// <summary>How long a drain (first SIGTERM/SIGINT) lets busy connections finish before closing them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>During a drain, a connection that owes nothing and has been silent this long is closed.</summary>
    public TimeSpan DrainQuietPeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// The size of the read buffer shared by every connection of one loop. Large, because it is one per
    /// loop, not per connection, and bulk transfers then need fewer read/write pairs.
    /// </summary>
    public int ReadBufferBytes { get; init; } = 256 * 1024;

    /// <summary>Bytes one read or splice-in takes: the buffer, capped at --max-pending-bytes so what it leaves unsent stays within that bound.</summary>
    public int ReadBytes => Math.Min(ReadBufferBytes, MaxPendingBytes);

    /// <summary>Reads one connection may do per wakeup (up to 4 MiB with the default buffer) before others get their turn.</summary>
    public int ReadsPerWakeup { get; init; } = 16;

    /// <summary>
    /// Echo large reads with splice(2) through a pipe, so the bytes stay in the kernel (Linux; elsewhere
    /// ignored). Small messages stay on read/write either way: see <see cref="SpliceThresholdBytes"/>.
    /// </summary>
    public bool ZeroCopy { get; init; } = true;

    /// <summary>
    /// A connection whose last read or splice brought at least this many bytes splices its next input; one
    /// that brought fewer reads and writes. Measured crossover on the project VM: docs/design.md, "Zero-copy echo".
    /// </summary>
    public int SpliceThresholdBytes { get; init; } = 16 * 1024;

    /// <summary>
    /// The most pipes one loop opens (two descriptors each): its loop pipe, spares, and the pipes of
    /// connections that owe spliced bytes. Beyond it a refused tail is copied into user space, as on the
    /// read/write path, so a crowd of slow clients cannot double the server's descriptors.
    /// </summary>
    public int MaxSplicePipes { get; init; } = 256;

    /// <summary>Connections the listener accepts per wakeup before connections get their turn.</summary>
    public int AcceptsPerWakeup { get; init; } = 128;
}
