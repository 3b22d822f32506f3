using EchoServer.Reactor.Net;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>What every connection of one event loop shares: options, logger, counters, one read buffer, its pipes and owed-output pool.</summary>
/// <remarks>
/// One buffer per loop is enough because the loop is single-threaded: a connection reads into it,
/// echoes from it, and copies only what the kernel did not take into a buffer of its own.
/// </remarks>
/// <param name="options">The echo service's tunables.</param>
/// <param name="logger">Where the loop logs.</param>
/// <param name="gate">The process's --max-connections count, shared by every loop.</param>
/// <param name="addresses">The process's --max-connections-per-address counts, shared by every loop; null = no limit.</param>
/// <param name="loops">How many loops share the process's --max-pending-total.</param>
internal sealed class EchoContext(EchoOptions options, ILogger logger, ConnectionGate gate, AddressGate? addresses = null, int loops = 1) : IDisposable
{
    private readonly OwedOutput?[] _owedPool = new OwedOutput?[64];
    private int _owedCount;

    public ConnectionGate Gate { get; } = gate;

    /// <summary>The per-address limit, or null where it is off.</summary>
    public AddressGate? Addresses { get; } = addresses;

    public EchoOptions Options { get; } = options;

    /// <summary>This loop's share of --max-pending-total; its <see cref="PendingBudget.ReadBytes"/> is the size of every read.</summary>
    public PendingBudget Budget { get; } = new(options.MaxPendingTotal, loops, options.ReadBytes, logger);

    public ILogger Logger { get; } = logger;

    public EchoCounters Counters { get; } = new();

    public byte[] ReadBuffer { get; } = GC.AllocateUninitializedArray<byte>(options.ReadBufferBytes, pinned: true);

    /// <summary>The loop's splice pipes; null where zero-copy echo is off or the OS has no splice(2).</summary>
    public LoopPipes? Pipes { get; } =
        options.ZeroCopy && SplicePipe.IsSupported ? new LoopPipes(options.ReadBytes, options.MaxSplicePipes) : null;

    /// <summary>True once a drain has begun: stop accepting, close connections as they go quiet.</summary>
    public bool Draining { get; set; }

    /// <summary>True where per-connection Debug logging (with scopes) is on; checked once, not per event.</summary>
    public bool DebugLogging { get; } = logger.IsEnabled(LogLevel.Debug);

    /// <summary>An empty <see cref="OwedOutput"/> for a connection that must keep a tail; from the loop's pool.</summary>
    public OwedOutput RentOwed() => _owedCount > 0 ? _owedPool[--_owedCount]! : new OwedOutput();

    /// <summary>Takes back an <see cref="OwedOutput"/> (emptied by the caller) for the next connection that owes.</summary>
    public void ReturnOwed(OwedOutput owed)
    {
        if (_owedCount < _owedPool.Length)
        {
            _owedPool[_owedCount++] = owed;
        }
    }

    /// <summary>Closes the loop's pipes; after the loop (and so every connection) is disposed.</summary>
    public void Dispose() => Pipes?.Dispose();
}
