using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>What every connection of one event loop shares: the options, the logger and one read buffer.</summary>
/// <remarks>
/// One buffer per loop is enough because the loop is single-threaded: a connection reads into it,
/// echoes from it, and copies only what the kernel did not take into a buffer of its own.
/// </remarks>
internal sealed class EchoContext(EchoOptions options, ILogger logger)
{
    public EchoOptions Options { get; } = options;

    public ILogger Logger { get; } = logger;

    public byte[] ReadBuffer { get; } = GC.AllocateUninitializedArray<byte>(options.ReadBufferBytes, pinned: true);

    public int ActiveConnections { get; set; }

    public long AcceptedConnections { get; set; }

    public long BytesEchoed { get; set; }
}
