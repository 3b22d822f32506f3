using System.Diagnostics;

namespace EchoServer.TestSupport;

/// <summary>
/// Polls a condition until a deadline: the one way tests wait for something instead of sleeping. On timeout it
/// throws, naming what was awaited, so a wait can never fall through silently.
/// </summary>
internal static class Wait
{
    /// <summary>Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? details = null)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw TimedOut(timeout, what, details);
            }

            await Task.Delay(10);
        }
    }

    /// <summary>
    /// The synchronous twin of <see cref="UntilAsync"/>, for a test that must stay on its thread (one polling a
    /// poller or a non-blocking socket). The condition may do the work itself, e.g. a non-blocking read.
    /// </summary>
    public static void Until(Func<bool> condition, TimeSpan timeout, string what, Func<string>? details = null)
    {
        var clock = Stopwatch.StartNew();
        for (var pause = 1; !condition(); pause = Math.Min(pause * 2, 10))
        {
            if (clock.Elapsed > timeout)
            {
                throw TimedOut(timeout, what, details);
            }

            // Sleeps rather than spins: on a small machine a spinner starves what it waits for. The pause grows to
            // the async twin's 10 ms, so a quick condition is seen at once and a slow one is not polled in a hot loop.
            Thread.Sleep(pause);
        }
    }

    private static TimeoutException TimedOut(TimeSpan timeout, string what, Func<string>? details) =>
        new($"timed out after {timeout} waiting until {what}.{(details is null ? "" : "\n" + details())}");
}
