using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// The process's limit on open descriptors (RLIMIT_NOFILE), which caps how many sockets it can hold. Windows has no
/// such limit (a socket is a handle, not a slot in a descriptor table): there it reads as unlimited and is never raised.
/// </summary>
public static class OpenFileLimit
{
    // OPEN_MAX in macOS <sys/syslimits.h>: the soft limit macOS accepts where the hard one is RLIM_INFINITY.
    private const int MacOSOpenMax = 10240;

    /// <summary>The soft limit now: one more than the highest descriptor number the process may use (int.MaxValue if unlimited).</summary>
    /// <remarks>getrlimit cannot fail for RLIMIT_NOFILE; if it did, no limit is assumed.</remarks>
    public static int Current => OperatingSystem.IsWindows() ? int.MaxValue
        : Libc.GetOpenFileLimits(out var limits).Value == 0 ? Libc.ClampToInt(limits.Current) : int.MaxValue;

    /// <summary>
    /// Raises the soft limit to the hard limit, as a server that holds one descriptor per client should.
    /// </summary>
    /// <remarks>
    /// Needs no privilege. The usual soft limit is 1024; CoreCLR raises it while starting, a native AOT binary
    /// only through this call. On macOS, where RLIM_INFINITY is refused, OPEN_MAX (10240) is used.
    /// docs/design.md, "The open-file limit".
    /// </remarks>
    /// <param name="before">The soft limit found.</param>
    /// <param name="after">The soft limit now (equal to <paramref name="before"/> if nothing changed).</param>
    /// <returns>True if the soft limit was raised.</returns>
    public static bool TryRaiseToHardLimit(out int before, out int after)
    {
        after = before = Current;
        if (OperatingSystem.IsWindows() || Libc.GetOpenFileLimits(out var limits).Value != 0 || limits.Current >= limits.Maximum)
        {
            return false;
        }

        var raised = limits with { Current = limits.Maximum };
        if (Libc.SetOpenFileLimits(raised).Value != 0)
        {
            if (!OperatingSystem.IsMacOS() || limits.Current >= MacOSOpenMax)
            {
                return false;
            }

            _ = Libc.SetOpenFileLimits(limits with { Current = Math.Min(limits.Maximum, MacOSOpenMax) });
        }

        after = Current;
        return after > before;
    }
}
