using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// Keeps the top of the descriptor table free for the rest of the process: an acceptor asks
/// <see cref="IsInHeadroom"/> about each accepted fd and pauses accepting once one lands there.
/// </summary>
/// <remarks>
/// <para>The .NET runtime aborts when it cannot get a descriptor for a thread it starts, so an acceptor must
/// stop before the table is full (docs/design.md, "Descriptor headroom"). Descriptors are handed out lowest
/// first, so an accepted fd at or above <see cref="Ceiling"/> means at most <see cref="Headroom"/> remain;
/// while paused, <see cref="HasRoom"/> probes the lowest free descriptor.</para>
/// <para>Descriptors opened elsewhere, or a soft limit of RLIM_INFINITY (no ceiling), can still lead to
/// EMFILE, which acceptors must keep handling by backing off.</para>
/// </remarks>
public sealed class DescriptorHeadroom
{
    /// <summary>Descriptors kept free by default (a quarter of the limit when that is smaller).</summary>
    public const int DefaultHeadroom = 64;

    private readonly int _wanted;
    private readonly Func<int> _readLimit;
    private int _ceiling;

    /// <summary>Reads the soft RLIMIT_NOFILE and places the ceiling <paramref name="headroom"/> below it.</summary>
    /// <param name="headroom">Descriptors to keep free; capped at a quarter of the limit.</param>
    public DescriptorHeadroom(int headroom = DefaultHeadroom)
        : this(headroom, static () => OpenFileLimit.Current)
    {
    }

    /// <summary>For tests: a limit of their choosing instead of the process's, which they would share with every other test.</summary>
    internal DescriptorHeadroom(int headroom, Func<int> limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        _wanted = headroom;
        _readLimit = limit;
        ReadLimit();
    }

    /// <summary>The soft RLIMIT_NOFILE as last read (int.MaxValue when unlimited).</summary>
    public int Limit { get; private set; }

    /// <summary>Descriptors kept free below <see cref="Limit"/>.</summary>
    public int Headroom => Limit - _ceiling;

    /// <summary>The lowest descriptor number inside the headroom.</summary>
    public int Ceiling => _ceiling;

    /// <summary>True if <paramref name="source"/>, just returned by accept(2) or open(2), lies in the headroom.</summary>
    public bool IsInHeadroom(Source source) => _ceiling != int.MaxValue && source.Fd >= _ceiling;

    /// <summary>
    /// Re-reads the limit (it may have been raised with prlimit) and opens and closes one descriptor to
    /// see where the lowest free one is.
    /// </summary>
    /// <returns>True if that descriptor lies below the ceiling, so accepting may go on.</returns>
    public bool HasRoom()
    {
        ReadLimit();
        if (_ceiling == int.MaxValue)
        {
            return true; // no limit (Windows, or RLIM_INFINITY): no descriptor can land in a headroom
        }

        var c = OsConstants.Current;
        var probe = Libc.Socket(c.AF_INET, c.SOCK_DGRAM, out _);
        if (probe < 0)
        {
            return false; // EMFILE, ENFILE, ENOBUFS: no room by any measure
        }

        _ = Libc.Close(probe);
        return !IsInHeadroom(Source.FromFd(probe));
    }

    private void ReadLimit()
    {
        Limit = _readLimit();
        _ceiling = Limit == int.MaxValue ? int.MaxValue : Limit - Math.Min(_wanted, Limit / 4);
    }
}
