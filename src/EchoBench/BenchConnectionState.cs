namespace EchoBench;

/// <summary>Where a bench connection is in its life.</summary>
internal enum BenchConnectionState
{
    /// <summary>Not started yet.</summary>
    New,

    /// <summary>connect(2) in progress.</summary>
    Connecting,

    /// <summary>Connected: sending and checking echoes.</summary>
    Open,

    /// <summary>Got back everything it sent and closed.</summary>
    Done,

    /// <summary>Ended by an error (counted once in <see cref="BenchStats.Errors"/>).</summary>
    Failed,
}
