using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The macOS and FreeBSD backend (and, for testing it on Linux, the same code over libkqueue: see
/// <see cref="PollerFactory.UseLibkqueue"/>): one kqueue, each registered fd holding an <c>EVFILT_READ</c> and/or
/// an <c>EVFILT_WRITE</c> filter added with <c>EV_CLEAR</c> (edge-triggered), or without it where the interest says
/// <see cref="Interest.LevelTriggered"/>. See <see cref="IPoller"/> for the contract; readiness is derived as in
/// mio's <c>src/sys/unix/selector/kqueue.rs</c>.
/// </summary>
/// <remarks>
/// <para>kqueue reports each filter as its own event, so one fd registered for both directions may
/// appear twice in one batch (once readable, once writable).</para>
/// <para>Changes are applied at once, in their own <c>kevent()</c> call, not batched into the next wait, and
/// registered fds are tracked so a double registration fails with EEXIST as on epoll: docs/design.md,
/// "kqueue: changes applied at once, not batched".</para>
/// <para>EV_CLEAR is fixed when a filter is added (kernels keep the first registration's; libkqueue refuses an EV_ADD
/// without it on an existing socket filter), so a reregistration that involves level-triggered interest deletes
/// both filters and adds the wanted ones afresh, in the same <c>kevent()</c> call; a fresh filter reports a
/// condition that already holds.</para>
/// <para>Over libkqueue, a batch that comes back full is followed by a report for every edge-triggered registration
/// (KqueuePoller.Rescan.cs): libkqueue drops the edges it has no slot for.</para>
/// </remarks>
internal sealed unsafe partial class KqueuePoller : IPoller
{
    private readonly KqueueConstants _k;
    private readonly bool _wide;
    private readonly KernelQueue _queue;
    private readonly Dictionary<int, (Token Token, Interest Interest)> _registered = [];
    private readonly Lock _lock = new();
    private long _nextWakerIdent;

    /// <summary>Creates a kqueue (kqueue(2), then FD_CLOEXEC).</summary>
    /// <exception cref="PlatformNotSupportedException">
    /// Not running on macOS or FreeBSD, nor on Linux after <see cref="PollerFactory.UseLibkqueue"/>.
    /// </exception>
    /// <exception cref="SyscallException">The kernel refused (EMFILE, ENOMEM).</exception>
    public KqueuePoller()
    {
        var abi = CurrentAbi;
        if (abi is null)
        {
            throw new PlatformNotSupportedException(
                "kqueue exists only on macOS and FreeBSD (on Linux, only over libkqueue: PollerFactory.UseLibkqueue).");
        }

        _k = abi;
        _wide = _k.WideKEvent;
        var kq = Libc.KqueueCreate(_k, out var errno);
        if (kq < 0)
        {
            throw new SyscallException("kqueue", errno);
        }

        _queue = new KernelQueue(kq, _k.KEventSize);
    }

    /// <summary>The kqueue ABI of this process: the kernel's, libkqueue's once loaded on Linux, or null.</summary>
    internal static KqueueConstants? CurrentAbi =>
        KqueueConstants.For(OsConstants.Current.Os) ?? (Libkqueue.LoadedPath is null ? null : KqueueConstants.Libkqueue);

    /// <inheritdoc/>
    public string Name => "kqueue";

    /// <inheritdoc/>
    public void Register(Source source, Token token, Interest interest)
    {
        InterestCheck.ThrowIfInvalid(interest);
        var fd = source.Fd;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
            if (_registered.ContainsKey(fd))
            {
                throw new SyscallException("kevent(EV_ADD)", new Errno(OsConstants.Current.EEXIST));
            }

            var add = AddFlags(interest);
            var none = (ushort)0;
            var errno = ApplyFd(
                fd,
                token,
                (interest & Interest.Writable) != 0 ? add : none,
                (interest & Interest.Readable) != 0 ? add : none,
                deleteFirst: false,
                ignoreEnoent: false);
            if (errno.Value != 0)
            {
                // One filter may have been added before the other failed; take it back (best effort).
                var delete = DeleteFlags;
                _ = ApplyFd(fd, token, delete, delete, deleteFirst: false, ignoreEnoent: true);
                throw new SyscallException("kevent(EV_ADD)", errno);
            }

            _registered.Add(fd, (token, interest));
        }
    }

    /// <inheritdoc/>
    public void Reregister(Source source, Token token, Interest interest)
    {
        InterestCheck.ThrowIfInvalid(interest);
        var fd = source.Fd;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
            if (!_registered.TryGetValue(fd, out var registered))
            {
                throw new SyscallException("kevent(EV_ADD)", new Errno(OsConstants.Current.ENOENT));
            }

            // Wanted filters are (re)added with the new token; unwanted ones deleted. Deleting a filter
            // that was never added gives ENOENT, which is what we asked for anyway (mio ignores it too).
            // Level-triggered on either side: delete both first, as EV_CLEAR is fixed at EV_ADD (type remarks).
            var level = (interest & Interest.LevelTriggered) != 0;
            var deleteFirst = level || (registered.Interest & Interest.LevelTriggered) != 0;
            var add = AddFlags(interest);
            var drop = deleteFirst ? (ushort)0 : DeleteFlags;
            var errno = ApplyFd(
                fd,
                token,
                (interest & Interest.Writable) != 0 ? add : drop,
                (interest & Interest.Readable) != 0 ? add : drop,
                deleteFirst,
                ignoreEnoent: true);
            if (errno.Value != 0)
            {
                throw new SyscallException("kevent(EV_ADD)", errno);
            }

            _registered[fd] = (token, interest);
        }
    }

    /// <inheritdoc/>
    public void Deregister(Source source)
    {
        var fd = source.Fd;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
            if (!_registered.Remove(fd))
            {
                throw new SyscallException("kevent(EV_DELETE)", new Errno(OsConstants.Current.ENOENT));
            }

            // Both filters, though only one may exist: ENOENT for the other is expected.
            var delete = DeleteFlags;
            var errno = ApplyFd(fd, default, delete, delete, deleteFirst: false, ignoreEnoent: true);
            if (errno.Value != 0)
            {
                throw new SyscallException("kevent(EV_DELETE)", errno);
            }
        }
    }

    /// <inheritdoc/>
    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
        var owed = TakeOwedRescan(events);
        if (owed > 0)
        {
            return owed;
        }

        var buffer = _queue.BufferFor(events);
        var limit = WaitLimit(events.Length);

        // A NULL timespec waits without limit (any negative timeout, as epoll_wait treats it); {0, 0} polls.
        var timeout = Timespec.FromMilliseconds(Math.Max(timeoutMs, 0));
        var n = KernelQueue.WaitResult(
            Libc.KEvent(_k, _queue.Fd, null, 0, buffer, limit, timeoutMs < 0 ? null : &timeout, out var errno), errno, "kevent");
        RescanIfFull(n, limit);
        return _wide
            ? Convert((KEventFreeBsd*)buffer, n, events)
            : Convert((KEventDarwin*)buffer, n, events);
    }

    /// <summary>
    /// Maps one kevent to <see cref="Readiness"/>, exactly as mio's <c>kqueue.rs mod event</c>:
    /// readable = EVFILT_READ or EVFILT_USER (the waker looks readable); writable = EVFILT_WRITE;
    /// error = EV_ERROR, or EV_EOF with a socket error in fflags; read-closed = READ with EV_EOF;
    /// write-closed = WRITE with EV_EOF. Unlike mio, every READ also reports <see cref="Readiness.Priority"/>.
    /// </summary>
    internal static Readiness ToReadiness(KqueueConstants k, short filter, ushort flags, uint fflags)
    {
        var r = Readiness.None;
        var eof = (flags & k.EV_EOF) != 0;
        if (filter == k.EVFILT_READ || filter == k.EVFILT_USER)
        {
            r |= Readiness.Readable;
        }

        if (filter == k.EVFILT_READ)
        {
            // kqueue does not say whether a read would stop at a TCP urgent mark: assume it may.
            r |= Readiness.Priority;
        }

        if (filter == k.EVFILT_WRITE)
        {
            r |= Readiness.Writable;
        }

        if ((flags & k.EV_ERROR) != 0 || (eof && fflags != 0))
        {
            r |= Readiness.Error;
        }

        if (eof && filter == k.EVFILT_READ)
        {
            r |= Readiness.ReadClosed;
        }

        if (eof && filter == k.EVFILT_WRITE)
        {
            r |= Readiness.WriteClosed;
        }

        return r;
    }

    /// <summary>EV_ADD for this interest's filters: with EV_CLEAR (edge-triggered) unless it asks for level-triggered.</summary>
    private ushort AddFlags(Interest interest) =>
        (ushort)(_k.EV_ADD | _k.EV_RECEIPT | ((interest & Interest.LevelTriggered) != 0 ? 0 : _k.EV_CLEAR));

    private ushort DeleteFlags => (ushort)(_k.EV_DELETE | _k.EV_RECEIPT);

    private int Convert<TEvent>(TEvent* native, int n, Span<PollEvent> events)
        where TEvent : unmanaged, IKEvent<TEvent>
    {
        for (var i = 0; i < n; i++)
        {
            ref var e = ref native[i];
            events[i] = new PollEvent(new Token((ulong)e.UData), ToReadiness(_k, e.Filter, e.Flags, e.FFlags));
        }

        return n;
    }

    // Applies the write-filter change, then the read-filter change (mio's order) for one fd in a
    // single kevent() call with EV_RECEIPT, and reads back each change's receipt. A zero flags value
    // skips that filter. deleteFirst puts a delete of both filters before them (ENOENT must then be ignored).
    private Errno ApplyFd(int fd, Token token, ushort writeFlags, ushort readFlags, bool deleteFirst, bool ignoreEnoent)
    {
        return _wide
            ? ApplyFd<KEventFreeBsd>(fd, token, writeFlags, readFlags, deleteFirst, ignoreEnoent)
            : ApplyFd<KEventDarwin>(fd, token, writeFlags, readFlags, deleteFirst, ignoreEnoent);
    }

    private Errno ApplyFd<TEvent>(int fd, Token token, ushort writeFlags, ushort readFlags, bool deleteFirst, bool ignoreEnoent)
        where TEvent : unmanaged, IKEvent<TEvent>
    {
        var changes = stackalloc TEvent[4];
        var n = 0;
        if (deleteFirst)
        {
            var delete = DeleteFlags;
            changes[n++] = TEvent.Create((nuint)fd, _k.EVFILT_WRITE, delete, 0, token.Value);
            changes[n++] = TEvent.Create((nuint)fd, _k.EVFILT_READ, delete, 0, token.Value);
        }

        if (writeFlags != 0)
        {
            changes[n++] = TEvent.Create((nuint)fd, _k.EVFILT_WRITE, writeFlags, 0, token.Value);
        }

        if (readFlags != 0)
        {
            changes[n++] = TEvent.Create((nuint)fd, _k.EVFILT_READ, readFlags, 0, token.Value);
        }

        return ApplyChanges(changes, n, ignoreEnoent);
    }

    // Every change carries EV_RECEIPT, so the kernel answers each with an EV_ERROR event whose data
    // is 0 on success or that change's errno, and does not also dequeue pending events (the event
    // list has exactly one slot per change). The changes array doubles as the event list, as in mio.
    // The timeout is {0, 0} so this can never block, whatever the kernel does.
    private Errno ApplyChanges<TEvent>(TEvent* changes, int n, bool ignoreEnoent)
        where TEvent : unmanaged, IKEvent<TEvent>
    {
        var zero = default(Timespec);
        var got = Libc.KEvent(_k, _queue.Fd, changes, n, changes, n, &zero, out var errno);
        if (got < 0)
        {
            // kevent(2) (FreeBSD): on EINTR the change list has already been applied (mio does the same).
            return errno.IsInterrupted ? default : errno;
        }

        var c = OsConstants.Current;
        for (var i = 0; i < got; i++)
        {
            ref var e = ref changes[i];
            if ((e.Flags & _k.EV_ERROR) == 0 || e.Data == 0)
            {
                continue;
            }

            var error = (int)e.Data;

            // EPIPE: old macOS refuses EVFILT_WRITE on a socket whose peer has gone (mio#582); the
            // filter is still usable and the next write reports the error.
            if (error == c.EPIPE || (ignoreEnoent && error == c.ENOENT))
            {
                continue;
            }

            return new Errno(error);
        }

        return default;
    }

    /// <summary>Closes the kqueue (which drops every filter) and frees the event buffer.</summary>
    public void Dispose()
    {
        // Under the lock, so that a Trigger from another thread never reaches a closed (and reused) fd number.
        lock (_lock)
        {
            _queue.Dispose();
        }
    }
}
