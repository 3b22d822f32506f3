namespace EchoServer.TestSupport;

/// <summary>The one way a test skips on a probe's answer (a <c>SkipReason</c>: null where the test can run, else why not).</summary>
internal static class Skips
{
    /// <summary>Skips the calling test, saying <paramref name="reason"/>, unless it is null.</summary>
    public static void When(string? reason) => Assert.SkipWhen(reason is not null, reason ?? string.Empty);
}
