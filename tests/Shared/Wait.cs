namespace EchoServer.TestSupport;

/// <summary>Polls a condition until a deadline: the way tests wait instead of sleeping.</summary>
internal static class Wait
{
    /// <summary>Returns once <paramref name="condition"/> holds; throws <see cref="TimeoutException"/> with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string>? details = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {timeout} waiting until {what}.{(details is null ? "" : "\n" + details())}");
            }

            await Task.Delay(10);
        }
    }
}
