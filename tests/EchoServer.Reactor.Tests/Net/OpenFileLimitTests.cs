using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Net;

/// <summary>Changes this process's soft limit for a moment, so it shares a collection with the tests that read it.</summary>
[Collection(nameof(OpenFileLimit))]
public class OpenFileLimitTests
{

    public OpenFileLimitTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "RLIMIT_NOFILE is Unix's");
    }
    [Fact]
    public void A_soft_limit_below_the_hard_one_is_raised()
    {
        // CoreCLR has already raised this test process's soft limit; lower it by one (other tests run in this
        // process meanwhile and need their descriptors) and see it raised again.
        Libc.GetOpenFileLimits(out var original).Value.Should().Be(0);
        var lowered = original with { Current = Math.Min(original.Current, original.Maximum) - 1 };
        Libc.SetOpenFileLimits(lowered).Value.Should().Be(0);
        try
        {
            OpenFileLimit.TryRaiseToHardLimit(out var before, out var after).Should().BeTrue();
            before.Should().Be(Libc.ClampToInt(lowered.Current));
            after.Should().Be(OpenFileLimit.Current);
            if (!OperatingSystem.IsMacOS())
            {
                after.Should().Be(Libc.ClampToInt(original.Maximum), "the soft limit goes up to the hard one");
            }

            after.Should().BeGreaterThan(before);
        }
        finally
        {
            Libc.SetOpenFileLimits(original);
        }
    }

    [Fact]
    public void At_the_hard_limit_nothing_changes()
    {
        Libc.GetOpenFileLimits(out var limits).Value.Should().Be(0);
        OpenFileLimit.TryRaiseToHardLimit(out _, out _); // in case the soft limit started lower

        OpenFileLimit.TryRaiseToHardLimit(out var before, out var after).Should().BeFalse("a second call has nothing to raise");
        after.Should().Be(before);
        Libc.GetOpenFileLimits(out var now).Value.Should().Be(0);
        now.Maximum.Should().Be(limits.Maximum, "the hard limit is never touched");
    }
}

/// <summary>
/// The tests that change or count this process's descriptors run alone, after the parallel ones: other tests
/// open and close descriptors meanwhile (and libkqueue frees a closed kqueue's on its own thread, later).
/// </summary>
[CollectionDefinition(nameof(OpenFileLimit), DisableParallelization = true)]
public sealed class OpenFileLimitTestsRunAlone;
