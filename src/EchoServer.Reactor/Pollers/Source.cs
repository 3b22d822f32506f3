namespace EchoServer.Reactor.Pollers;

/// <summary>
/// What a poller watches: an OS handle, typed. A Unix file descriptor, or a Windows <c>SOCKET</c>, which is
/// pointer-sized; <see cref="Handle"/> holds either. Every socket type of the library gives its own
/// (<c>Source</c> properties), so code registers sources, never raw integers (after mio's <c>Source</c>).
/// </summary>
/// <remarks>
/// A source does not own its handle: copying one copies the number, and whoever owns the socket closes it once,
/// after deregistering it. <c>default(Source)</c> is <see cref="None"/>, never descriptor 0.
/// </remarks>
public readonly struct Source : IEquatable<Source>
{
    private readonly nint _complement; // ~handle, so that the default value is -1, not descriptor 0

    /// <summary>A source for an OS handle: a file descriptor on Unix, a <c>SOCKET</c> on Windows.</summary>
    public Source(nint handle) => _complement = ~handle;

    /// <summary>No handle (-1: an invalid descriptor on Unix, <c>INVALID_SOCKET</c> on Windows); the default value.</summary>
    public static Source None => default;

    /// <summary>The OS handle.</summary>
    public nint Handle => ~_complement;

    /// <summary>The file descriptor of a Unix source.</summary>
    public int Fd => (int)Handle;

    /// <summary>False for <see cref="None"/> and any other negative handle.</summary>
    public bool IsValid => Handle >= 0;

    /// <summary>A source for a Unix file descriptor this process holds (inherited, or made with another API).</summary>
    public static Source FromFd(int fd) => new(fd);

    /// <inheritdoc/>
    public bool Equals(Source other) => _complement == other._complement;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Source other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _complement.GetHashCode();

    /// <inheritdoc/>
    public override string ToString() => $"Source({Handle})";

    /// <summary>Same handle.</summary>
    public static bool operator ==(Source left, Source right) => left.Equals(right);

    /// <summary>Different handles.</summary>
    public static bool operator !=(Source left, Source right) => !left.Equals(right);
}
