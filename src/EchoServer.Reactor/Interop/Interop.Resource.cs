using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// struct rlimit { rlim_t rlim_cur; rlim_t rlim_max; };     &lt;sys/resource.h&gt;
/// rlim_t is a 64-bit unsigned integer on every supported 64-bit OS (Linux, macOS, FreeBSD), so the
/// struct is 16 bytes with no padding.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RLimit
{
    /// <summary>rlim_cur: the soft limit, the one the kernel enforces.</summary>
    public ulong Current;

    /// <summary>rlim_max: the hard limit, the most the soft limit may be raised to.</summary>
    public ulong Maximum;
}

internal static partial class Libc
{
    // int getrlimit(int resource, struct rlimit *rlim);                             getrlimit(2)
    [LibraryImport(Name, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int getrlimit(int resource, out RLimit limit);

    /// <summary>
    /// The soft RLIMIT_NOFILE: one more than the highest descriptor number open(2) and accept(2) may
    /// return. RLIM_INFINITY (all ones on Linux, 2^63-1 on the BSDs) and anything beyond int.MaxValue
    /// come back as int.MaxValue, since descriptors are ints.
    /// </summary>
    /// <returns>The limit, or -1 with <paramref name="errno"/> set.</returns>
    internal static int GetOpenFileLimit(out Errno errno)
    {
        if (getrlimit(OsConstants.Current.RLIMIT_NOFILE, out var limit) != 0)
        {
            errno = Errno.Last;
            return -1;
        }

        errno = default;
        return limit.Current > int.MaxValue ? int.MaxValue : (int)limit.Current;
    }
}
