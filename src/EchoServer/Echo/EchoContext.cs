using EchoServer.Reactor.Net;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>What every connection of one event loop shares: options, logger, counters, one read buffer.</summary>
/// <remarks>
/// One buffer per loop is enough because the loop is single-threaded: a connection reads into it,
/// echoes from it, and copies only what the kernel did not take into a buffer of its own.
/// </remarks>
internal sealed class EchoContext(EchoOptions options, ILogger logger, ConnectionGate gate) : IDisposable
{
    public ConnectionGate Gate { get; } = gate;

    public EchoOptions Options { get; } = options;

    public ILogger Logger { get; } = logger;

    public EchoCounters Counters { get; } = new();

    public byte[] ReadBuffer { get; } = GC.AllocateUninitializedArray<byte>(options.ReadBufferBytes, pinned: true);

    /// <summary>The loop's splice pipes; null where zero-copy echo is off or the OS has no splice(2).</summary>
    public LoopPipes? Pipes { get; } =
        options.ZeroCopy && SplicePipe.IsSupported ? new LoopPipes(Math.Min(options.ReadBufferBytes, options.MaxPendingBytes), options.MaxSplicePipes) : null;

    /// <summary>The live connections, as an intrusive list (no allocation to add or remove), for drain and shutdown.</summary>
    public EchoConnection? FirstConnection { get; private set; }

    /// <summary>True once a drain has begun: stop accepting, close connections as they go quiet.</summary>
    public bool Draining { get; set; }

    /// <summary>True where per-connection Debug logging (with scopes) is on; checked once, not per event.</summary>
    public bool DebugLogging { get; } = logger.IsEnabled(LogLevel.Debug);

    public void Link(EchoConnection connection)
    {
        connection.Next = FirstConnection;
        if (FirstConnection is not null)
        {
            FirstConnection.Previous = connection;
        }

        FirstConnection = connection;
        Counters.Active++;
    }

    public void Unlink(EchoConnection connection)
    {
        if (connection.Previous is not null)
        {
            connection.Previous.Next = connection.Next;
        }
        else
        {
            FirstConnection = connection.Next;
        }

        if (connection.Next is not null)
        {
            connection.Next.Previous = connection.Previous;
        }

        connection.Next = connection.Previous = null;
        Counters.Active--;
    }

    /// <summary>Closes the loop's pipes; after the loop (and so every connection) is disposed.</summary>
    public void Dispose() => Pipes?.Dispose();
}
