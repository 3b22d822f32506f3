using System.Runtime.InteropServices;
using System.Text;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>struct sockaddr_un</c> from sys/un.h:
/// Linux <c>{ sa_family_t sun_family; char sun_path[108]; }</c> (110 bytes);
/// macOS and FreeBSD <c>{ uint8_t sun_len; sa_family_t sun_family; char sun_path[104]; }</c> (106 bytes),
/// whose first two bytes <see cref="FamilyField"/> holds as one ushort, as in <see cref="SockAddrIn"/>.
/// </summary>
/// <remarks>
/// One struct of the larger (Linux) size serves all three: the kernel reads only the length passed
/// with it, and <see cref="UnixSocketConstants.SunPathLength"/> keeps a BSD path within its 104 bytes,
/// so nothing past the BSD struct's end is ever passed there.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockAddrUn
{
    public ushort FamilyField;
    public fixed byte Path[108];

    /// <summary>offsetof(struct sockaddr_un, sun_path) on every supported OS.</summary>
    public const int PathOffset = 2;

    /// <summary>
    /// Encodes <paramref name="path"/> NUL-terminated for bind(2)/connect(2).
    /// </summary>
    /// <returns>The length to pass as <c>socklen_t</c> (family, path and its NUL, as mio passes it).</returns>
    /// <exception cref="ArgumentException">The path is empty, holds a NUL, or is too long for sun_path.</exception>
    public static uint Encode(string path, out SockAddrUn addr)
    {
        addr = default;
        var c = OsConstants.Current;
        var length = UnixSocketConstants.CheckPath(path);
        fixed (byte* p = addr.Path)
        {
            Encoding.UTF8.GetBytes(path, new Span<byte>(p, UnixSocketConstants.SunPathLength));
        }

        var total = (uint)(PathOffset + length + 1);
        addr.FamilyField = SockAddr.FamilyField(c, UnixSocketConstants.AF_UNIX, total);
        return total;
    }

    /// <summary>
    /// Encodes a destination for sendto(2)/connect(2): a path, or on Linux a name in the abstract namespace
    /// written as .NET's <c>UnixDomainSocketEndPoint</c> writes it, with a leading NUL (<c>"\0name"</c>).
    /// </summary>
    /// <returns>The length to pass as <c>socklen_t</c> (an abstract name has no terminating NUL: its length is exact).</returns>
    /// <exception cref="ArgumentException">Empty, too long, a NUL inside, or an abstract name off Linux.</exception>
    public static uint EncodeDestination(string address, out SockAddrUn addr)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (!address.StartsWith('\0'))
        {
            return Encode(address, out addr);
        }

        if (OsConstants.Current.Os != OsFamily.Linux)
        {
            throw new ArgumentException("Abstract unix socket names exist on Linux only.", nameof(address));
        }

        var name = address[1..];
        if (name.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("An abstract unix socket name must not contain a NUL after the first.", nameof(address));
        }

        var length = Encoding.UTF8.GetByteCount(name);
        if (length == 0 || length > UnixSocketConstants.SunPathLength - 1)
        {
            throw new ArgumentException($"An abstract unix socket name must be 1 to {UnixSocketConstants.SunPathLength - 1} bytes long.", nameof(address));
        }

        addr = default;
        addr.FamilyField = (ushort)UnixSocketConstants.AF_UNIX;
        fixed (byte* p = addr.Path)
        {
            Encoding.UTF8.GetBytes(name, new Span<byte>(p + 1, UnixSocketConstants.SunPathLength - 1));
        }

        return (uint)(PathOffset + 1 + length);
    }

    /// <summary>
    /// The path the kernel wrote (getsockname(2)) in <paramref name="length"/> bytes: a file path, an abstract
    /// name with its leading NUL (<c>"\0name"</c>), or an empty string for an unnamed socket.
    /// </summary>
    public static string DecodePath(in SockAddrUn addr, uint length)
    {
        var count = (int)Math.Min(length > PathOffset ? length - PathOffset : 0, (uint)UnixSocketConstants.SunPathLength);
        if (count == 0)
        {
            return string.Empty;
        }

        fixed (SockAddrUn* a = &addr)
        {
            var bytes = new ReadOnlySpan<byte>(a->Path, count);
            if (bytes[0] == 0)
            {
                return "\0" + Encoding.UTF8.GetString(bytes[1..]);
            }

            var end = bytes.IndexOf((byte)0);
            return Encoding.UTF8.GetString(end < 0 ? bytes : bytes[..end]);
        }
    }
}

/// <summary>Unix-domain socket constants.</summary>
internal static class UnixSocketConstants
{
    /// <summary>
    /// AF_UNIX (AF_LOCAL) is 1 on Linux, macOS and FreeBSD alike (rust libc <c>AF_UNIX</c> in
    /// <c>linux_like/mod.rs</c>, <c>bsd/apple/mod.rs</c>, <c>bsd/freebsdlike/mod.rs</c>), so a constant
    /// rather than an <see cref="OsConstants"/> field.
    /// </summary>
    public const int AF_UNIX = 1;

    /// <summary>sizeof(sun_path): 108 on Linux, 104 on macOS and FreeBSD (sys/un.h).</summary>
    public static readonly int SunPathLength = OsConstants.Current.Os == OsFamily.Linux ? 108 : 104;

    /// <summary>The longest path in UTF-8 bytes, leaving room for the terminating NUL.</summary>
    public static int MaxPathBytes => SunPathLength - 1;

    /// <summary>Validates a socket path.</summary>
    /// <returns>Its length in UTF-8 bytes.</returns>
    /// <exception cref="ArgumentException">Empty, contains NUL (Linux's abstract namespace is not supported), or too long.</exception>
    public static int CheckPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
        {
            throw new ArgumentException("A unix socket path must not be empty.", nameof(path));
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("A unix socket path must not contain a NUL character.", nameof(path));
        }

        var length = Encoding.UTF8.GetByteCount(path);
        if (length > MaxPathBytes)
        {
            throw new ArgumentException(
                $"The unix socket path '{path}' is {length} bytes long; sockaddr_un holds at most {MaxPathBytes} bytes on this OS. Use a shorter path.",
                nameof(path));
        }

        return length;
    }
}

/// <summary>What lstat(2) says about a path, as much as the unix listener needs.</summary>
/// <param name="Exists">False when nothing is at the path (ENOENT).</param>
/// <param name="IsSocket">S_ISSOCK(st_mode).</param>
/// <param name="Inode">st_ino, to recognise our own socket file later.</param>
internal readonly record struct PathStatus(bool Exists, bool IsSocket, ulong Inode);

internal static unsafe partial class Libc
{
    // int unlink(const char *pathname);                                            unlink(2)
    [LibraryImport(Name, EntryPoint = "unlink")]
    private static partial int unlink(byte* path);

    // int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen);        bind(2), with a sockaddr_un
    [LibraryImport(Name, EntryPoint = "bind")]
    private static partial int bind_un(int fd, SockAddrUn* addr, uint length);

    // int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen);     connect(2), with a sockaddr_un
    [LibraryImport(Name, EntryPoint = "connect")]
    private static partial int connect_un(int fd, SockAddrUn* addr, uint length);

    // int lstat(const char *pathname, struct stat *statbuf);                       lstat(2)
    // Exported by glibc since 2.33 (before that only __lxstat), musl, FreeBSD 12+ (the ino64 layout is the
    // default version) and macOS arm64; macOS x86-64 needs lstat$INODE64 for the 64-bit-inode layout.
    [LibraryImport(Name, EntryPoint = "lstat")]
    private static partial int lstat(byte* path, byte* statBuffer);

    // int lstat(const char *pathname, struct stat *statbuf);                       macOS x86-64, 64-bit inodes
    [LibraryImport(Name, EntryPoint = "lstat$INODE64")]
    private static partial int lstat_inode64(byte* path, byte* statBuffer);

    // int __lxstat(int ver, const char *pathname, struct stat *statbuf);           glibc < 2.33
    [LibraryImport(Name, EntryPoint = "__lxstat")]
    private static partial int __lxstat(int version, byte* path, byte* statBuffer);

    /// <summary>unlink(2), retried on EINTR.</summary>
    internal static Errno Unlink(string path)
    {
        fixed (byte* p = NulTerminatedUtf8(path))
        {
            Errno errno;
            while (!Completed(unlink(p), out _, out errno))
            {
            }

            return errno;
        }
    }

    /// <summary>
    /// A path as the C string the calls take. Marshalled by hand, not by LibraryImport, so that nothing runs
    /// between the call and the read of errno (docs/design.md, "errno").
    /// </summary>
    private static byte[] NulTerminatedUtf8(string path)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(path) + 1];
        Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }

    internal static Errno Bind(int fd, in SockAddrUn addr, uint length)
    {
        fixed (SockAddrUn* p = &addr)
        {
            return bind_un(fd, p, length) == 0 ? default : Errno.Last;
        }
    }

    /// <summary>connect(2) to a unix socket. Not retried on EINTR (see <see cref="Connect(int, in SockAddr, uint)"/>).</summary>
    internal static Errno Connect(int fd, in SockAddrUn addr, uint length)
    {
        fixed (SockAddrUn* p = &addr)
        {
            return connect_un(fd, p, length) == 0 ? default : Errno.Last;
        }
    }

    // The only struct stat fields read, by OS and architecture (sys/stat.h; rust libc's `stat` definitions):
    //   Linux x86-64   st_dev u64 @0, st_ino u64 @8, st_nlink u64 @16, st_mode u32 @24   (144 bytes)
    //   Linux arm64    st_dev u64 @0, st_ino u64 @8, st_mode u32 @16                     (128 bytes, asm-generic)
    //   macOS          st_dev i32 @0, st_mode u16 @4, st_nlink u16 @6, st_ino u64 @8     (144 bytes, INODE64)
    //   FreeBSD 12+    st_dev u64 @0, st_ino u64 @8, st_nlink u64 @16, st_mode u16 @24   (224 bytes)
    // S_IFMT 0170000 and S_IFSOCK 0140000 are the same everywhere.
    private const int StatBufferSize = 256;
    private const int S_IFMT = 0xF000;
    private const int S_IFSOCK = 0xC000;

    /// <summary>lstat(2) of <paramref name="path"/>: does something exist there, and is it a socket.</summary>
    internal static Errno LStat(string path, out PathStatus status)
    {
        var c = OsConstants.Current;
        var buffer = stackalloc byte[StatBufferSize];
        new Span<byte>(buffer, StatBufferSize).Clear();
        Errno errno;
        fixed (byte* p = NulTerminatedUtf8(path))
        {
            while (!Completed(CallLStat(p, buffer), out _, out errno))
            {
            }
        }

        if (errno.Value != 0)
        {
            status = default;
            return errno.Value == c.ENOENT ? default : errno;
        }

        int mode = c.Os switch
        {
            OsFamily.Linux when RuntimeInformation.ProcessArchitecture is Architecture.X64 => (int)*(uint*)(buffer + 24),
            OsFamily.Linux => (int)*(uint*)(buffer + 16),
            OsFamily.MacOS => *(ushort*)(buffer + 4),
            _ => *(ushort*)(buffer + 24),
        };
        status = new PathStatus(true, (mode & S_IFMT) == S_IFSOCK, *(ulong*)(buffer + 8));
        return default;
    }

    private static bool s_noLStatSymbol;

    private static int CallLStat(byte* path, byte* buffer)
    {
        var c = OsConstants.Current;
        if (c.Os == OsFamily.MacOS && RuntimeInformation.ProcessArchitecture is Architecture.X64)
        {
            return lstat_inode64(path, buffer);
        }

        if (!s_noLStatSymbol)
        {
            try
            {
                return lstat(path, buffer);
            }
            catch (EntryPointNotFoundException) when (c.Os == OsFamily.Linux)
            {
                s_noLStatSymbol = true;
            }
        }

        // glibc before 2.33: _STAT_VER is 1 on x86-64 and 0 on arm64 (bits/stat.h).
        return __lxstat(RuntimeInformation.ProcessArchitecture is Architecture.X64 ? 1 : 0, path, buffer);
    }
}
