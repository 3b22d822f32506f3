using System.Net;

namespace EchoBench;

/// <summary>What traffic each bench connection generates.</summary>
internal enum BenchMode
{
    /// <summary>One <see cref="BenchOptions.Size"/>-byte message in flight per connection; every round trip is timed.</summary>
    PingPong,

    /// <summary>Up to <see cref="BenchOptions.Depth"/> bytes of <see cref="BenchOptions.Size"/>-byte messages in flight per connection.</summary>
    Pipeline,

    /// <summary>Writes as fast as the socket takes them while reading the echo back; measures throughput.</summary>
    Bulk,

    /// <summary>Connects, does one round trip, holds the connection for the duration, does one more round trip.</summary>
    Idle,
}

/// <summary>The settings of one <c>echobench</c> run, already validated.</summary>
internal sealed record BenchOptions
{
    public required IPEndPoint Target { get; init; }

    public BenchMode Mode { get; init; } = BenchMode.PingPong;

    public int Connections { get; init; } = 50;

    /// <summary>Bytes per message (pingpong, pipeline, idle) or per write (bulk).</summary>
    public int Size { get; init; } = 64;

    /// <summary>Pipeline only: bytes in flight per connection.</summary>
    public int Depth { get; init; } = 16384;

    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Traffic before measuring starts (ignored by idle).</summary>
    public TimeSpan Warmup { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Time between progress lines on stderr; <see cref="TimeSpan.Zero"/> for none.</summary>
    public TimeSpan Progress { get; init; }

    /// <summary>How long to wait for a connect to complete.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long to wait, after sending stops, for the echoes still owed.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The mode's name as the command line and the RESULT line spell it.</summary>
    public static string ModeName(BenchMode mode) => mode switch
    {
        BenchMode.PingPong => "pingpong",
        BenchMode.Pipeline => "pipeline",
        BenchMode.Bulk => "bulk",
        BenchMode.Idle => "idle",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };
}
