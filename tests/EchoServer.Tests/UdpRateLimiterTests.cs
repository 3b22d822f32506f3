using System.Diagnostics;
using System.Net;
using EchoServer.Echo;
using EchoServer.Reactor.Net;
using FluentAssertions;

namespace EchoServer.Tests;

public class UdpRateLimiterTests
{
    private static readonly long Second = Stopwatch.Frequency;

    private static DatagramAddress Source(string ip, int port = 40000) =>
        DatagramAddress.FromEndPoint(new IPEndPoint(IPAddress.Parse(ip), port));

    [Fact]
    public void Allows_the_burst_then_the_rate()
    {
        var limiter = new UdpRateLimiter(ratePerSecond: 10, burst: 3);
        var a = Source("10.0.0.1");
        long t = 1_000 * Second;
        Enumerable.Range(0, 3).Select(_ => limiter.TryAcquire(a, t)).ToArray().Should().OnlyContain(ok => ok);
        limiter.TryAcquire(a, t).Should().BeFalse();
        limiter.TryAcquire(a, t + (Second / 10)).Should().BeTrue("one token comes back every 100 ms");
        limiter.TryAcquire(a, t + (Second / 10)).Should().BeFalse();
    }

    [Fact]
    public void Limits_per_ip_not_per_port_and_sources_are_independent()
    {
        var limiter = new UdpRateLimiter(ratePerSecond: 1, burst: 1);
        long t = 5 * Second;
        limiter.TryAcquire(Source("10.0.0.1", 1000), t).Should().BeTrue();
        limiter.TryAcquire(Source("10.0.0.1", 2000), t).Should().BeFalse("same IP, other port");
        limiter.TryAcquire(Source("10.0.0.2", 1000), t).Should().BeTrue("another IP has its own bucket");
        limiter.TryAcquire(Source("::1", 1000), t).Should().BeTrue();
        limiter.Count.Should().Be(3);
    }

    [Fact]
    public void Table_is_bounded_and_stale_sources_make_room()
    {
        var limiter = new UdpRateLimiter(ratePerSecond: 1, burst: 2, maxSources: 2);
        long t = 10 * Second;
        limiter.TryAcquire(Source("10.0.0.1"), t).Should().BeTrue();
        limiter.TryAcquire(Source("10.0.0.2"), t).Should().BeTrue();
        limiter.TryAcquire(Source("10.0.0.3"), t).Should().BeFalse("the table is full of active sources");
        limiter.Count.Should().Be(2);

        // After 1 s both buckets are full again (burst 2, one token spent, 1 token/s): stale, evictable.
        limiter.TryAcquire(Source("10.0.0.3"), t + Second).Should().BeTrue();
        limiter.Count.Should().Be(1);
    }
}
