using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>The timer heap: cancelled timers do not pile up while the loop, having no live timer, leaves the heap alone.</summary>
public sealed class TimerQueueTests
{
    [Fact]
    public void Cancelling_the_last_live_timer_empties_the_heap()
    {
        var timers = new TimerQueue();
        for (var i = 0; i < 10_000; i++)
        {
            // A connection's idle timer armed and cancelled, with no other timer alive meanwhile.
            timers.Cancel(timers.Add(TimeSpan.FromSeconds(30), _ => null)).Should().BeTrue();
        }

        timers.Count.Should().Be(0);
        timers.HeapCount.Should().Be(0, "the loop skips the heap while no timer is live, so nothing else would clean it");
    }

    [Fact]
    public void When_the_last_live_timer_fires_the_cancelled_ones_behind_it_go_too()
    {
        var timers = new TimerQueue();
        timers.Add(TimeSpan.Zero, _ => null);
        timers.Cancel(timers.Add(TimeSpan.FromSeconds(30), _ => null)).Should().BeTrue();
        timers.HeapCount.Should().Be(2);

        timers.RunDue(null!);

        timers.Count.Should().Be(0);
        timers.HeapCount.Should().Be(0, "the loop skips the heap while no timer is live, so nothing else would clean it");
    }

    [Fact]
    public void While_a_timer_lives_cancelled_ones_stay_until_they_surface()
    {
        var timers = new TimerQueue();
        var live = timers.Add(TimeSpan.FromSeconds(60), _ => null);
        timers.Cancel(timers.Add(TimeSpan.FromSeconds(1), _ => null)).Should().BeTrue();

        timers.HeapCount.Should().Be(2);
        timers.MillisecondsUntilNext().Should().BeGreaterThan(1_000, "the cancelled earlier deadline is skipped");
        timers.HeapCount.Should().Be(1);
        timers.Cancel(live).Should().BeTrue();
        timers.HeapCount.Should().Be(0);
    }
}
