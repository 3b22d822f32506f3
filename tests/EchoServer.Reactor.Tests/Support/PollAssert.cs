using System.Diagnostics;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>An event a test waits for: this token with at least these readiness bits.</summary>
internal readonly record struct ExpectedEvent(Token Token, Readiness Readiness)
{
    public override string ToString() => $"{Token} {Readiness}";
}

/// <summary>
/// The harness of mio's tests/util: <see cref="ExpectEvents"/> polls until the expected events are seen
/// (failing after <see cref="Patience.Short"/>) and accepts extra (spurious) events;
/// <see cref="ExpectNoEvents(IPoller, Token, int)"/> polls for a while and fails on any event for the token.
/// </summary>
internal static class PollAssert
{
    /// <summary>How long <see cref="ExpectNoEvents(IPoller, int)"/> watches: a window in which nothing may happen, not a wait.</summary>
    public const int QuietMs = 100;

    // One poll of ExpectEvents blocks at most this long, so the wait overshoots its patience by little.
    private const int PollMs = 100;

    /// <summary>
    /// Polls until every expectation is met. Readiness is merged per token over the events seen, because
    /// kqueue reports the read and write filters as separate events. Unexpected events are ignored ("must
    /// accept sporadic events").
    /// </summary>
    /// <returns>Every event seen.</returns>
    public static List<PollEvent> ExpectEvents(IPoller poller, params ExpectedEvent[] expected)
    {
        var seen = new List<PollEvent>();
        var merged = new Dictionary<Token, Readiness>();
        var buffer = new PollEvent[64];
        Wait.Until(
            () =>
            {
                if (AllMet(expected, merged))
                {
                    return true;
                }

                var n = poller.Wait(buffer, PollMs);
                for (var i = 0; i < n; i++)
                {
                    seen.Add(buffer[i]);
                    merged[buffer[i].Token] = merged.GetValueOrDefault(buffer[i].Token) | buffer[i].Readiness;
                }

                return AllMet(expected, merged);
            },
            Patience.Short,
            $"the poller reports [{string.Join(", ", expected)}]",
            () => $"not seen: [{string.Join(", ", expected.Where(e => !IsMet(e, merged)))}]; seen: [{string.Join(", ", seen)}]");

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
