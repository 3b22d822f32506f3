using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>The kqueue backend's waker: one EVFILT_USER event per waker, triggered from any thread.</summary>
internal sealed unsafe partial class KqueuePoller
{
    /// <inheritdoc/>
    public IWaker CreateWaker(Token token)
    {
        // EVFILT_USER idents are their own namespace (not fds); one per waker, so several can coexist.
        var ident = (nuint)Interlocked.Increment(ref _nextWakerIdent);
        var add = (ushort)(_k.EV_ADD | _k.EV_CLEAR | _k.EV_RECEIPT);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_queue.IsDisposed, this);
            var errno = ApplyUser(ident, token, add, _k.NOTE_FFNOP);
            if (errno.Value != 0)
            {
                throw new SyscallException("kevent(EVFILT_USER, EV_ADD)", errno);
            }
        }

        return new KqueueWaker(this, ident, token);
    }

    /// <summary>Triggers the waker's EVFILT_USER event (<c>NOTE_TRIGGER</c>); called from any thread.</summary>
    internal void Trigger(nuint ident, Token token)
    {
        // Under the lock so a concurrent Dispose cannot close the kqueue (and let its fd number be
        // reused) between the check and the call. A failure cannot be acted upon by the waking thread.
        // No EV_ADD (libuv's async.c does the same): if the waker was removed meanwhile, the kernel answers
        // ENOENT, whereas EV_ADD would create a new EVFILT_USER event without EV_CLEAR, already triggered,
        // that fires on every wait from then on (xnu kevent_register copies the flags of an added knote).
        lock (_lock)
        {
            if (!_queue.IsDisposed)
            {
                _ = ApplyUser(ident, token, (ushort)_k.EV_RECEIPT, _k.NOTE_TRIGGER);
            }
        }
    }

    /// <summary>Deletes the waker's EVFILT_USER event.</summary>
    internal void RemoveWaker(nuint ident)
    {
        lock (_lock)
        {
            if (!_queue.IsDisposed)
            {
                _ = ApplyUser(ident, default, DeleteFlags, _k.NOTE_FFNOP);
            }
        }
    }

    private Errno ApplyUser(nuint ident, Token token, ushort flags, uint fflags)
    {
        if (_wide)
        {
            var change = KEventFreeBsd.Create(ident, _k.EVFILT_USER, flags, fflags, token.Value);
            return ApplyChanges(&change, 1, ignoreEnoent: false);
        }
        else
        {
            var change = KEventDarwin.Create(ident, _k.EVFILT_USER, flags, fflags, token.Value);
            return ApplyChanges(&change, 1, ignoreEnoent: false);
        }
    }
}
