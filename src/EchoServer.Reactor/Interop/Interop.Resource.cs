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
    [LibraryImport(Name, EntryPoint = "getrlimit")]
    private static partial int getrlimit(int resource, out RLimit limit);

    // int setrlimit(int resource, const struct rlimit *rlim);                       setrlimit(2)
    [LibraryImport(Name, EntryPoint = "setrlimit")]
    private static partial int setrlimit(int resource, in RLimit limit);

    /// <summary>getrlimit(RLIMIT_NOFILE): the soft limit is one more than the highest descriptor number the process may get.</summary>
    internal static Errno GetOpenFileLimits(out RLimit limits) =>
        getrlimit(OsConstants.Current.RLIMIT_NOFILE, out limits) == 0 ? default : Errno.Last;

    /// <summary>setrlimit(RLIMIT_NOFILE). Raising the soft limit up to the hard one needs no privilege.</summary>
    internal static Errno SetOpenFileLimits(in RLimit limits) =>
        setrlimit(OsConstants.Current.RLIMIT_NOFILE, limits) == 0 ? default : Errno.Last;

    /// <summary>
    /// A descriptor limit as an int: RLIM_INFINITY (all ones on Linux, 2^63-1 on the BSDs) and anything
    /// beyond int.MaxValue become int.MaxValue, since descriptors are ints.
    /// </summary>
    internal static int ClampToInt(ulong value) => value > int.MaxValue ? int.MaxValue : (int)value;
}
