using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// Keeps the top of the descriptor table free for the rest of the process: an acceptor asks
/// <see cref="IsInHeadroom"/> about each accepted fd and pauses accepting once one lands there.
/// </summary>
/// <remarks>
/// <para>A server that accepts until accept(2) fails with EMFILE leaves the process with no descriptor
/// at all, and the .NET runtime needs some at moments nobody chooses: every thread it creates opens
/// files under /proc and /sys and a pipe, and it creates threads on demand (the tiered JIT's worker,
/// re-created after idling; the thread that runs a signal handler). Out of descriptors it aborts
/// (PAL_SEHException), so SIGTERM or a method getting hot kills a server that is merely full.</para>
/// <para>libuv's answer (a reserve of placeholder fds, released on EMFILE and taken back before the next
/// accept, joyent/libuv#690) still leaves the table full between taking the reserve back and accept's
/// next EMFILE, and managed code runs in that window. Instead, the acceptor stops before the table is
/// full. POSIX hands out the lowest free descriptor (open(2), accept(2)), so an accepted fd numbered at
/// or above <see cref="Ceiling"/> means every descriptor below it is taken and at most
/// <see cref="Headroom"/> remain: the check costs one comparison per accept. While paused,
/// <see cref="HasRoom"/> probes the lowest free descriptor to learn when connections have gone.</para>
/// <para>This only keeps the acceptor from filling the table. Descriptors opened elsewhere, or a soft
/// limit of RLIM_INFINITY (then there is no ceiling), can still lead to EMFILE, which acceptors must
/// keep handling by backing off.</para>
/// </remarks>
public sealed class DescriptorHeadroom
{
    /// <summary>Descriptors kept free by default (a quarter of the limit when that is smaller).</summary>
    public const int DefaultHeadroom = 64;

    private readonly int _wanted;
    private int _ceiling;

    /// <summary>Reads the soft RLIMIT_NOFILE and places the ceiling <paramref name="headroom"/> below it.</summary>
    /// <param name="headroom">Descriptors to keep free; capped at a quarter of the limit.</param>
    public DescriptorHeadroom(int headroom = DefaultHeadroom)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        _wanted = headroom;
        ReadLimit();
    }

    /// <summary>The soft RLIMIT_NOFILE as last read (int.MaxValue when unlimited).</summary>
    public int Limit { get; private set; }

    /// <summary>Descriptors kept free below <see cref="Limit"/>.</summary>
    public int Headroom => Limit - _ceiling;

    /// <summary>The lowest descriptor number inside the headroom.</summary>
    public int Ceiling => _ceiling;

    /// <summary>True if <paramref name="fd"/>, just returned by accept(2) or open(2), lies in the headroom.</summary>
    public bool IsInHeadroom(int fd) => fd >= _ceiling;

    /// <summary>
    /// Re-reads the limit (it may have been raised with prlimit) and opens and closes one descriptor to
    /// see where the lowest free one is.
    /// </summary>
    /// <returns>True if that descriptor lies below the ceiling, so accepting may go on.</returns>
    public bool HasRoom()
    {
        ReadLimit();
        var c = OsConstants.Current;
        var probe = Libc.Socket(c.AF_INET, c.SOCK_DGRAM, out _);
        if (probe < 0)
        {
            return false; // EMFILE, ENFILE, ENOBUFS: no room by any measure
        }

        _ = Libc.Close(probe);
        return !IsInHeadroom(probe);
    }

    private void ReadLimit()
    {
        Limit = OpenFileLimit.Current;
        _ceiling = Limit == int.MaxValue ? int.MaxValue : Limit - Math.Min(_wanted, Limit / 4);
    }
}
