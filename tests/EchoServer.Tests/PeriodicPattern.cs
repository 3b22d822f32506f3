namespace EchoServer.Tests;

/// <summary>
/// Random data whose period (a prime, 1,000,003) is no multiple of any buffer size, so a lost, doubled or reordered
/// chunk of an echo shows up as a mismatch; a stream is the pattern read from an offset.
/// </summary>
internal static class PeriodicPattern
{
    private static readonly byte[] Pattern = Make(1_000_003);

    /// <summary>Fills <paramref name="buffer"/> with the stream's bytes from <paramref name="offset"/> on.</summary>
    public static void Fill(byte[] buffer, long offset)
    {
        var start = (int)(offset % Pattern.Length);
        for (var filled = 0; filled < buffer.Length;)
        {
            var n = Math.Min(buffer.Length - filled, Pattern.Length - start);
            Pattern.AsSpan(start, n).CopyTo(buffer.AsSpan(filled));
            filled += n;
            start = 0;
        }
    }

    private static byte[] Make(int length)
    {
        var pattern = new byte[length];
        new Random(262144).NextBytes(pattern);
        return pattern;
    }
}
