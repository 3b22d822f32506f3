using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>The process's limit on open descriptors (RLIMIT_NOFILE), which caps how many sockets it can hold.</summary>
public static class OpenFileLimit
{
    // OPEN_MAX in macOS <sys/syslimits.h>. setrlimit(RLIMIT_NOFILE) there refuses a soft limit above
    // kern.maxfilesperproc (usually larger than OPEN_MAX), so when the hard limit is RLIM_INFINITY,
    // OPEN_MAX is the value known to be accepted (setrlimit(2) on macOS, COMPATIBILITY).
    private const int MacOSOpenMax = 10240;

    /// <summary>The soft limit now: one more than the highest descriptor number the process may use (int.MaxValue if unlimited).</summary>
    /// <remarks>getrlimit cannot fail for RLIMIT_NOFILE; if it did, no limit is assumed.</remarks>
    public static int Current => Libc.GetOpenFileLimits(out var limits).Value == 0 ? Libc.ClampToInt(limits.Current) : int.MaxValue;

    /// <summary>
    /// Raises the soft limit to the hard limit, as a server that holds one descriptor per client should.
    /// </summary>
    /// <remarks>
    /// systemd and most login sessions start processes with a soft limit of 1024 and a far higher hard
    /// limit: 1024 keeps old select(2) users safe, and programs that need more are expected to raise it
    /// themselves (Go's runtime does so at start-up since Go 1.19; so does the referee's C server). Raising
    /// the soft limit needs no privilege. CoreCLR already does it while starting (its PAL's
    /// INIT_IncreaseDescriptorLimit); a NativeAOT binary does not (dotnet/runtime#82719), so there this
    /// call is what lifts the limit. On macOS a hard limit of RLIM_INFINITY is refused as a soft limit,
    /// and OPEN_MAX is used instead, as CoreCLR does (dotnet/coreclr#14054). Child processes would
    /// inherit the raised limit; this library starts none.
    /// </remarks>
    /// <param name="before">The soft limit found.</param>
    /// <param name="after">The soft limit now (equal to <paramref name="before"/> if nothing changed).</param>
    /// <returns>True if the soft limit was raised.</returns>
    public static bool TryRaiseToHardLimit(out int before, out int after)
    {
        after = before = Current;
        if (Libc.GetOpenFileLimits(out var limits).Value != 0 || limits.Current >= limits.Maximum)
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
