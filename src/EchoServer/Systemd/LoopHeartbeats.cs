namespace EchoServer.Systemd;

/// <summary>
/// The watchdog's proof that every event loop still turns, not only the one that sends the pings: each loop bumps
/// its own count from a timer of its own, and a ping goes out only if every count moved since the previous look.
/// One stuck reactor thus stops the pings, and systemd's watchdog restarts the service.
/// </summary>
internal sealed class LoopHeartbeats(int loops, TimeSpan pingEvery)
{
    private readonly long[] _beats = new long[loops];
    private readonly long[] _seen = new long[loops];

    /// <summary>How often the pinging loop looks (and pings): WATCHDOG_USEC / 2.</summary>
    public TimeSpan PingEvery { get; } = pingEvery;

    /// <summary>
    /// How often each loop beats: four times per ping, so a loop that merely ran a timer late still beats between
    /// two looks (at least 1 ms, so a tiny WATCHDOG_USEC does not make the loops spin).
    /// </summary>
    public TimeSpan BeatEvery { get; } = TimeSpan.FromMilliseconds(Math.Max(1, pingEvery.TotalMilliseconds / 4));

    /// <summary>Called on loop <paramref name="loop"/>'s thread, from its heartbeat timer.</summary>
    public void Beat(int loop) => Interlocked.Increment(ref _beats[loop]);

    /// <summary>True if every loop beat since the previous call (on the pinging loop's thread only).</summary>
    public bool AllBeatSinceLastLook()
    {
        var all = true;
        for (var i = 0; i < _beats.Length; i++)
        {
            var now = Volatile.Read(ref _beats[i]);
            all &= now != _seen[i];
            _seen[i] = now;
        }

        return all;
    }
}
