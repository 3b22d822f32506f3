using EchoServer.Systemd;
using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>The watchdog pings only while every loop beats: one stuck reactor stops them.</summary>
public sealed class LoopHeartbeatsTests
{
    [Fact]
    public void A_look_is_true_only_if_every_loop_beat_since_the_previous_look()
    {
        var heartbeats = new LoopHeartbeats(3, TimeSpan.FromMilliseconds(200));
        heartbeats.AllBeatSinceLastLook().Should().BeFalse("no loop has beaten yet");

        heartbeats.Beat(0);
        heartbeats.Beat(1);
        heartbeats.Beat(2);
        heartbeats.Beat(2);
        heartbeats.AllBeatSinceLastLook().Should().BeTrue();

        heartbeats.Beat(0);
        heartbeats.Beat(2);
        heartbeats.AllBeatSinceLastLook().Should().BeFalse("loop 1 did not beat: it is stuck");
        heartbeats.Beat(0);
        heartbeats.Beat(2);
        heartbeats.AllBeatSinceLastLook().Should().BeFalse("loop 1 still did not beat");

        heartbeats.Beat(0);
        heartbeats.Beat(1);
        heartbeats.Beat(2);
        heartbeats.AllBeatSinceLastLook().Should().BeTrue("loop 1 turns again");
    }

    [Fact]
    public void Loops_beat_four_times_per_ping_and_at_most_once_a_millisecond()
    {
        new LoopHeartbeats(2, TimeSpan.FromMilliseconds(200)).BeatEvery.Should().Be(TimeSpan.FromMilliseconds(50));
        new LoopHeartbeats(2, TimeSpan.FromMilliseconds(2)).BeatEvery.Should().Be(TimeSpan.FromMilliseconds(1));
    }
}
