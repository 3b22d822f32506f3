namespace EchoServer.Reactor.Pollers;

/// <summary>The one check every backend makes of an <see cref="Interest"/> before registering it.</summary>
internal static class InterestCheck
{
    private const Interest Known = Interest.ReadWrite | Interest.LevelTriggered;

    /// <summary>Throws unless <paramref name="interest"/> names Readable, Writable or both, and no unknown flag.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It does not.</exception>
    public static void ThrowIfInvalid(Interest interest)
    {
        if ((interest & Interest.ReadWrite) == 0 || (interest & ~Known) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(interest), interest, "An interest must name Readable, Writable or both (and may add LevelTriggered).");
        }
    }
}
