using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors macOS <c>struct kevent</c> from <c>&lt;sys/event.h&gt;</c> (64-bit: 32 bytes):
/// <code>
/// struct kevent {
///     uintptr_t ident;   /* identifier for this event */            offset 0
///     int16_t   filter;  /* filter for event */                     offset 8
///     uint16_t  flags;   /* general flags */                        offset 10
///     uint32_t  fflags;  /* filter-specific flags */                offset 12
///     intptr_t  data;    /* filter-specific data */                 offset 16
///     void     *udata;   /* opaque user data identifier */          offset 24
/// };
/// </code>
/// libkqueue on 64-bit Linux declares the same struct. Provenance and the other layouts: docs/design.md,
/// "kqueue: changes applied at once, not batched".
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
internal struct KEventDarwin : IKEvent<KEventDarwin>
{
    public nuint Ident;
    public short Filter;
    public ushort Flags;
    public uint FFlags;
    public nint Data;
    public nint UData;

    readonly short IKEvent.Filter => Filter;

    readonly ushort IKEvent.Flags => Flags;

    readonly uint IKEvent.FFlags => FFlags;

    readonly long IKEvent.Data => Data;

    readonly ulong IKEvent.UData => (ulong)UData;

    public static KEventDarwin Create(nuint ident, short filter, ushort flags, uint fflags, ulong udata) => new()
    {
        Ident = ident,
        Filter = filter,
        Flags = flags,
        FFlags = fflags,
        UData = (nint)udata,
    };
}

/// <summary>
/// Mirrors FreeBSD 12+ <c>struct kevent</c> from <c>&lt;sys/event.h&gt;</c> (64 bytes on every arch):
/// <code>
/// struct kevent {
///     __uintptr_t ident;   /* identifier for this event */          offset 0
///     short       filter;  /* filter for event */                   offset 8
///     unsigned short flags; /* action flags for kqueue */           offset 10
///     unsigned int fflags; /* filter flag value */                  offset 12
///     __int64_t   data;    /* filter data value */                  offset 16
///     void       *udata;   /* opaque user data identifier */        offset 24
///     __uint64_t  ext[4];  /* extensions */                         offset 32
/// };
/// </code>
/// The plain <c>kevent</c> symbol (<c>FBSD_1.5</c>) takes this layout (docs/design.md, "kqueue: changes
/// applied at once, not batched").
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct KEventFreeBsd : IKEvent<KEventFreeBsd>
{
    public nuint Ident;
    public short Filter;
    public ushort Flags;
    public uint FFlags;
    public long Data;
    public nint UData;
    public fixed ulong Ext[4];

    readonly short IKEvent.Filter => Filter;

    readonly ushort IKEvent.Flags => Flags;

    readonly uint IKEvent.FFlags => FFlags;

    readonly long IKEvent.Data => Data;

    readonly ulong IKEvent.UData => (ulong)UData;

    public static KEventFreeBsd Create(nuint ident, short filter, ushort flags, uint fflags, ulong udata) => new()
    {
        Ident = ident,
        Filter = filter,
        Flags = flags,
        FFlags = fflags,
        UData = (nint)udata,
    };
}

/// <summary>
/// What the kqueue poller reads from either <c>struct kevent</c> layout, so one generic code path
/// serves both (the JIT specialises it per struct, without boxing).
/// </summary>
internal interface IKEvent
{
    short Filter { get; }

    ushort Flags { get; }

    uint FFlags { get; }

    long Data { get; }

    ulong UData { get; }
}

/// <summary>Adds construction of a change entry to <see cref="IKEvent"/>.</summary>
/// <typeparam name="TSelf">The struct itself.</typeparam>
internal interface IKEvent<TSelf> : IKEvent
    where TSelf : unmanaged, IKEvent<TSelf>
{
    /// <summary>A change list entry; <paramref name="udata"/> is the opaque value the kernel hands back with its events.</summary>
    static abstract TSelf Create(nuint ident, short filter, ushort flags, uint fflags, ulong udata);
}

/// <summary>
/// Mirrors <c>struct timespec { time_t tv_sec; long tv_nsec; }</c> (<c>&lt;sys/_timespec.h&gt;</c>,
/// rust libc <c>src/unix/mod.rs</c>): 16 bytes on 64-bit macOS and FreeBSD, where <c>time_t</c> is 64-bit.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct Timespec
{
    public long Seconds;
    public long Nanoseconds;

    /// <summary>The timespec for a millisecond timeout (non-negative).</summary>
    public static Timespec FromMilliseconds(int ms) => new()
    {
        Seconds = ms / 1000,
        Nanoseconds = ms % 1000 * 1_000_000L,
    };
}

/// <summary>
/// The kqueue numbers of one ABI (a kernel's <c>&lt;sys/event.h&gt;</c>, or libkqueue's). They agree except
/// <c>EVFILT_USER</c> (macOS -10, FreeBSD -11, where -10 is <c>EVFILT_LIO</c>) and the size of
/// <c>struct kevent</c>. Checked against rust-lang/libc: macOS <c>src/unix/bsd/apple/mod.rs</c>,
/// FreeBSD <c>src/unix/bsd/freebsdlike/freebsd/mod.rs</c>; tests/EchoServer.Reactor.Tests/Interop/
/// OsConstantsTests.cs repeats them, so a typo fails on Linux too.
/// </summary>
internal sealed record KqueueConstants
{
    public required OsFamily Os { get; init; }

    /// <summary><c>sizeof(struct kevent)</c>: 32 on macOS and libkqueue, 64 on FreeBSD 12+.</summary>
    public required int KEventSize { get; init; }

    // Filters (int16_t filter).
    public short EVFILT_READ { get; init; } = -1;
    public short EVFILT_WRITE { get; init; } = -2;
    public short EVFILT_TIMER { get; init; } = -7;
    public required short EVFILT_USER { get; init; }

    // Actions and flags (uint16_t flags).
    public ushort EV_ADD { get; init; } = 0x0001;
    public ushort EV_DELETE { get; init; } = 0x0002;
    public ushort EV_ENABLE { get; init; } = 0x0004;
    public ushort EV_DISABLE { get; init; } = 0x0008;
    public ushort EV_ONESHOT { get; init; } = 0x0010;

    /// <summary>Reset the state after the event is retrieved: this is what makes kqueue edge-triggered.</summary>
    public ushort EV_CLEAR { get; init; } = 0x0020;

    /// <summary>Return every change as an EV_ERROR event with <c>data</c> = 0 or the errno of that change.</summary>
    public ushort EV_RECEIPT { get; init; } = 0x0040;
    public ushort EV_DISPATCH { get; init; } = 0x0080;
    public ushort EV_ERROR { get; init; } = 0x4000;

    /// <summary>Filter-specific EOF; for sockets the direction is shut down and <c>fflags</c> holds the socket error.</summary>
    public ushort EV_EOF { get; init; } = 0x8000;

    // EVFILT_USER fflags (uint32_t fflags).
    public uint NOTE_FFNOP { get; init; }
    public uint NOTE_TRIGGER { get; init; } = 0x01000000;

    /// <summary>macOS (Darwin xnu <c>bsd/sys/event.h</c>).</summary>
    public static readonly KqueueConstants MacOS = new()
    {
        Os = OsFamily.MacOS,
        KEventSize = 32,
        EVFILT_USER = -10,
    };

    /// <summary>FreeBSD 12+ (<c>sys/sys/event.h</c>).</summary>
    public static readonly KqueueConstants FreeBSD = new()
    {
        Os = OsFamily.FreeBSD,
        KEventSize = 64,
        EVFILT_USER = -11,
    };

    /// <summary>
    /// libkqueue on Linux (x86-64 and arm64): macOS's 32-byte <c>struct kevent</c>, FreeBSD's filter and
    /// flag values, Linux errno values (../shared/vendor/README.md; libkqueue <c>include/sys/event.h</c>).
    /// Its behaviour differs from a kernel kqueue in places: docs/design.md, "kqueue over libkqueue".
    /// </summary>
    public static readonly KqueueConstants Libkqueue = new()
    {
        Os = OsFamily.Linux,
        KEventSize = 32,
        EVFILT_USER = -11,
        InLibkqueue = true,
    };

    /// <summary>
    /// True when kqueue() and kevent() come from libkqueue (<see cref="Interop.Libkqueue"/>), not the C library.
    /// </summary>
    public bool InLibkqueue { get; init; }

    /// <summary>True when <c>struct kevent</c> is FreeBSD 12+'s 64-byte one, false for the 32-byte one.</summary>
    public bool WideKEvent => KEventSize == 64;

    /// <summary>The kernel's table for <paramref name="os"/>; null where the kernel has no kqueue (Linux).</summary>
    public static KqueueConstants? For(OsFamily os) => os switch
    {
        OsFamily.MacOS => MacOS,
        OsFamily.FreeBSD => FreeBSD,
        _ => null,
    };
}

internal static unsafe partial class Libc
{
    // int kqueue(void);                                                            kqueue(2)
    [LibraryImport(Name, EntryPoint = "kqueue")]
    private static partial int kqueue();

    // int kevent(int kq, const struct kevent *changelist, int nchanges,
    //            struct kevent *eventlist, int nevents, const struct timespec *timeout);   kevent(2)
    // The pointers are to KEventDarwin on macOS and KEventFreeBsd on FreeBSD (the plain symbol is the
    // FreeBSD 12+ ABI). NetBSD's size_t counts are not supported.
    [LibraryImport(Name, EntryPoint = "kevent")]
    private static partial int kevent(int kq, void* changes, int nchanges, void* events, int nevents, Timespec* timeout);

    // The same two functions from libkqueue on Linux (KEventDarwin layout), loaded from the path given
    // to Libkqueue.Load; libkqueue sets the C library's errno, read as for libc.
    [LibraryImport(Libkqueue.Name, EntryPoint = "kqueue")]
    private static partial int libkqueue_kqueue();

    [LibraryImport(Libkqueue.Name, EntryPoint = "kevent")]
    private static partial int libkqueue_kevent(int kq, void* changes, int nchanges, void* events, int nevents, Timespec* timeout);

    /// <summary>kqueue(2), then close-on-exec as mio does (kqueue has no CLOEXEC flag on macOS).</summary>
    internal static int KqueueCreate(KqueueConstants k, out Errno errno)
    {
        var fd = k.InLibkqueue ? libkqueue_kqueue() : kqueue();
        if (fd < 0)
        {
            errno = Errno.Last;
            return -1;
        }

        errno = SetCloseOnExec(fd);
        if (errno.Value != 0)
        {
            _ = close(fd);
            return -1;
        }

        return fd;
    }

    /// <summary>
    /// kevent(2) with raw buffers of the ABI's <c>struct kevent</c>. Not retried on EINTR: the caller
    /// decides (a wait recomputes its timeout; a change list was already applied, see kevent(2)).
    /// </summary>
    /// <returns>The number of events written, or -1 with <paramref name="errno"/> set.</returns>
    internal static int KEvent(KqueueConstants k, int kq, void* changes, int nchanges, void* events, int nevents, Timespec* timeout, out Errno errno)
    {
        var n = k.InLibkqueue
            ? libkqueue_kevent(kq, changes, nchanges, events, nevents, timeout)
            : kevent(kq, changes, nchanges, events, nevents, timeout);
        errno = n < 0 ? Errno.Last : default;
        return n;
    }
}
