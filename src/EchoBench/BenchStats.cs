namespace EchoBench;

/// <summary>Counters of one bench run, shared by its connections on the loop thread.</summary>
internal sealed class BenchStats
{
    /// <summary>Messages (or bulk chunks) whose echo completed while counting.</summary>
    public long Messages { get; set; }

    /// <summary>Echoed bytes received while counting.</summary>
    public long Bytes { get; set; }

    /// <summary>Messages completed in any phase (for progress rates; never reset).</summary>
    public long AllMessages { get; set; }

    /// <summary>Echoed bytes received in any phase (for progress rates; never reset).</summary>
    public long AllBytes { get; set; }

    /// <summary>Echoed bytes that differed from what was sent at their offset, or came without having been sent.</summary>
    public long Mismatched { get; set; }

    /// <summary>Connections whose connect failed or timed out.</summary>
    public int ConnectFailures { get; set; }

    /// <summary>Connections dropped by a read or write error (ECONNRESET, EPIPE or another errno).</summary>
    public int Resets { get; set; }

    /// <summary>Connections the server closed before every echo had come back.</summary>
    public int Eof { get; set; }

    /// <summary>Connections still owed echoed bytes when the drain timed out.</summary>
    public int Short { get; set; }

    /// <summary>Connections that failed in any way (each counted once), including handler exceptions.</summary>
    public int Errors { get; set; }

    /// <summary>Round-trip times in nanoseconds (not recorded in bulk mode).</summary>
    public LatencyHistogram Latency { get; } = new();

    /// <summary>Forgets the throughput and latency measured so far (the end of warmup); failures stay counted.</summary>
    public void ResetMeasurements()
    {
        Messages = 0;
        Bytes = 0;
        Latency.Reset();
    }

    /// <summary>Counts a failed connection under its cause; a mismatch has its own byte count instead.</summary>
    public void CountFailure(BenchFailure failure)
    {
        switch (failure)
        {
            case BenchFailure.Connect:
                ConnectFailures++;
                break;
            case BenchFailure.Reset:
                Resets++;
                break;
            case BenchFailure.Eof:
                Eof++;
                break;
            case BenchFailure.Short:
                Short++;
                break;
            case BenchFailure.Mismatch:
            default:
                break;
        }
    }
}
