namespace EchoServer.Reactor.Pollers;

/// <summary>What readiness a registration asks to be told about.</summary>
[Flags]
public enum Interest : byte
{
    /// <summary>Data (or end of stream, or a pending connection) can be read.</summary>
    Readable = 1,

    /// <summary>The socket's send buffer has room.</summary>
    Writable = 2,

    /// <summary>Both directions.</summary>
    ReadWrite = Readable | Writable,
}
