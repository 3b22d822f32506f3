namespace EchoBench;

/// <summary>
/// The bytes a bench connection sends: a fixed 1 MiB pseudo-random pattern (xorshift64 with a fixed seed),
/// read at stream offset + a per-connection offset, so every connection sends its own deterministic stream
/// and every echoed byte can be checked against the byte expected at its offset without keeping a copy.
/// </summary>
internal sealed class BenchPattern
{
    /// <summary>The pattern's period in bytes (a power of two).</summary>
    public const int Length = 1 << 20;

    /// <summary>The longest span <see cref="Slice"/> hands out: the pattern's start is repeated after its end so any such span is contiguous.</summary>
    public const int MaxChunk = 64 * 1024;

    private const long Mask = Length - 1;

    private readonly byte[] _bytes = new byte[Length + MaxChunk];

    public BenchPattern(ulong seed = 0x9E3779B97F4A7C15UL)
    {
        var state = seed == 0 ? 1UL : seed;
        for (var i = 0; i < Length; i += 8)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            BitConverter.TryWriteBytes(_bytes.AsSpan(i, 8), state);
        }

        _bytes.AsSpan(0, MaxChunk).CopyTo(_bytes.AsSpan(Length));
    }

    /// <summary>A connection's offset into the pattern: spreads connections over it so neighbours differ.</summary>
    public static long OffsetFor(int connection) => (connection * 0x9E3779B1L) & Mask;

    /// <summary>The <paramref name="length"/> bytes at <paramref name="streamOffset"/> of the stream that starts at <paramref name="connectionOffset"/>.</summary>
    public ReadOnlySpan<byte> Slice(long connectionOffset, long streamOffset, int length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, MaxChunk);
        return _bytes.AsSpan((int)((streamOffset + connectionOffset) & Mask), length);
    }

    /// <summary>How many bytes of <paramref name="received"/> differ from the stream at <paramref name="streamOffset"/>.</summary>
    public int CountMismatches(long connectionOffset, long streamOffset, ReadOnlySpan<byte> received)
    {
        var expected = Slice(connectionOffset, streamOffset, received.Length);
        if (received.SequenceEqual(expected))
        {
            return 0;
        }

        var mismatches = 0;
        for (var i = 0; i < received.Length; i++)
        {
            if (received[i] != expected[i])
            {
                mismatches++;
            }
        }

        return mismatches;
    }
}
