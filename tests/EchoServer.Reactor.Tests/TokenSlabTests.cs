using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>The token table grows by whole chunks without copying, reuses freed slots, and rejects stale tokens.</summary>
public sealed class TokenSlabTests
{
    [Fact]
    public void Grows_by_chunks_to_just_above_the_live_count()
    {
        var slab = new TokenSlab();
        var handler = new NullHandler();
        var tokens = new List<Token>();
        for (var i = 0; i < 10_000; i++)
        {
            tokens.Add(slab.Add(Source.FromFd(1000 + i), handler));
        }

        slab.Count.Should().Be(10_000);
        slab.Capacity.Should().Be(10 * TokenSlab.ChunkSize, "room for 10,000 is ten chunks of 1,024, not a doubled table of 16,384");
        for (var i = 0; i < tokens.Count; i++)
        {
            slab.Get(tokens[i], out var fd).Should().BeSameAs(handler);
            fd.Should().Be(Source.FromFd(1000 + i));
        }
    }

    [Fact]
    public void A_freed_slot_is_reused_last_freed_first_and_its_old_token_goes_stale()
    {
        var slab = new TokenSlab();
        var handler = new NullHandler();
        var a = slab.Add(Source.FromFd(10), handler);
        var b = slab.Add(Source.FromFd(11), handler);
        var c = slab.Add(Source.FromFd(12), handler);
        slab.Remove(a).Should().BeTrue();
        slab.Remove(c).Should().BeTrue();
        slab.Remove(c).Should().BeFalse("a token is freed once");

        var d = slab.Add(Source.FromFd(13), handler);
        var e = slab.Add(Source.FromFd(14), handler);
        ((uint)d.Value).Should().Be((uint)c.Value, "the last freed slot comes back first");
        ((uint)e.Value).Should().Be((uint)a.Value);
        slab.Get(c, out _).Should().BeNull("the old owner's token no longer matches the slot");
        slab.Get(a, out _).Should().BeNull();
        slab.Get(d, out var fd).Should().BeSameAs(handler);
        fd.Should().Be(Source.FromFd(13));
        slab.LiveTokens().Should().BeEquivalentTo([b, d, e]);
        ((uint)slab.Add(Source.FromFd(15), handler).Value).Should().Be(3, "with no free slot left, the next new slot is used");
    }

    private sealed class NullHandler : IReadinessHandler
    {
        public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
        {
        }

        public void Dispose()
        {
        }
    }
}
