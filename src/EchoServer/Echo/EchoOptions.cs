namespace EchoServer.Echo;

/// <summary>Tunables of the echo service.</summary>
internal sealed record EchoOptions
{
    /// <summary>The default bound on bytes owed to one client before the server stops reading from it.</summary>
    public const int DefaultMaxPendingBytes = 256 * 1024;

    /// <summary>
    /// While a connection owes its client more than this many bytes, the server stops reading from it,
    /// so TCP flow control pushes back on a client that sends without reading.
    /// </summary>
    public int MaxPendingBytes { get; init; } = DefaultMaxPendingBytes;

    /// <summary>The size of the read buffer shared by every connection of one loop.</summary>
    public int ReadBufferBytes { get; init; } = 64 * 1024;

    /// <summary>Reads one connection may do per wakeup before others get their turn.</summary>
    public int ReadsPerWakeup { get; init; } = 16;

    /// <summary>Connections the listener accepts per wakeup before connections get their turn.</summary>
    public int AcceptsPerWakeup { get; init; } = 128;
}
