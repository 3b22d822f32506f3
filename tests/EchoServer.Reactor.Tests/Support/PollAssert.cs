using System.Diagnostics;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>An event a test waits for: this token with at least these readiness bits.</summary>
internal readonly record struct ExpectedEvent(Token Token, Readiness Readiness)
{
    public override string ToString() => $"{Token} {Readiness}";
}

/// <summary>
/// The harness of mio's tests/util: <see cref="ExpectEvents"/> polls a few times and accepts extra
/// (spurious) events; <see cref="ExpectNoEvents(IPoller, Token, int)"/> polls for a while and fails on
/// any event for the token.
/// </summary>
internal static class PollAssert
{
    public const int Rounds = 3;
    public const int RoundTimeoutMs = 500;
    public const int QuietMs = 100;

    /// <summary>
    /// Polls up to <see cref="Rounds"/> times until every expectation is met. Readiness is merged per
    /// token over the events seen, because kqueue reports the read and write filters as separate events.
    /// Unexpected events are ignored ("must accept sporadic events").
    /// </summary>
    /// <returns>Every event seen.</returns>
    public static List<PollEvent> ExpectEvents(IPoller poller, params ExpectedEvent[] expected)
    {
        var seen = new List<PollEvent>();
        var merged = new Dictionary<Token, Readiness>();
        var buffer = new PollEvent[64];
        for (var round = 0; round < Rounds && !AllMet(expected, merged); round++)
        {
            var n = poller.Wait(buffer, RoundTimeoutMs);
            for (var i = 0; i < n; i++)
            {
                seen.Add(buffer[i]);
                merged[buffer[i].Token] = merged.GetValueOrDefault(buffer[i].Token) | buffer[i].Readiness;
            }
        }

        if (!AllMet(expected, merged))
        {
            var missing = expected.Where(e => !IsMet(e, merged));
            Assert.Fail($"Expected events not seen: [{string.Join(", ", missing)}]; seen: [{string.Join(", ", seen)}].");
        }

        return seen;
    }

    /// <summary>Polls for <paramref name="quietMs"/> and fails on any event for <paramref name="token"/>.</summary>
    public static void ExpectNoEvents(IPoller poller, Token token, int quietMs = QuietMs) =>
        ExpectNoEvents(poller, ev => ev.Token == token, quietMs);

    /// <summary>Polls for <paramref name="quietMs"/> and fails on any event at all.</summary>
    public static void ExpectNoEvents(IPoller poller, int quietMs = QuietMs) => ExpectNoEvents(poller, _ => true, quietMs);

    private static void ExpectNoEvents(IPoller poller, Func<PollEvent, bool> matters, int quietMs)
    {
        var buffer = new PollEvent[64];
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var left = quietMs - (int)clock.ElapsedMilliseconds;
            if (left <= 0)
            {
                return;
            }

            var n = poller.Wait(buffer, left);
            for (var i = 0; i < n; i++)
            {
                if (matters(buffer[i]))
                {
                    Assert.Fail($"Expected no event, got {buffer[i]}.");
                }
            }
        }
    }

    private static bool AllMet(ExpectedEvent[] expected, Dictionary<Token, Readiness> merged) =>
        expected.All(e => IsMet(e, merged));

    private static bool IsMet(ExpectedEvent e, Dictionary<Token, Readiness> merged) =>
        merged.TryGetValue(e.Token, out var r) && (r & e.Readiness) == e.Readiness;
}
