using System.Diagnostics;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using static EchoServer.Reactor.Interop.AfdConstants;

namespace EchoServer.Reactor.Pollers;

/// <summary>The AFD poller's bookkeeping of polls in flight: submitting, cancelling, completing and freeing them.</summary>
internal sealed unsafe partial class AfdPoller
{
    private void Rearm(AfdRegistration registration, Interest direction)
    {
        var consumable = ((direction & Interest.Readable) != 0 ? AfdEvents.ReadConsumable : 0)
            | ((direction & Interest.Writable) != 0 ? AfdEvents.WriteConsumable : 0);
        lock (_lock)
        {
            if (!_disposed && !registration.Deleted && (registration.Reported & consumable) != 0)
            {
                registration.Reported &= ~consumable;
                Arm(registration, forgetIfClosed: true);
            }
        }
    }

    private AfdRegistration Find(Source source, string call) =>
        s_bySocket.TryGetValue(source.Handle, out var registration) && registration.Poller == this
            ? registration
            : throw new SyscallException(call + " (not registered)", new Errno(OsConstants.Current.ENOENT));

    /// <summary>
    /// Makes the poll in flight ask for what the registration wants: leaves it, or cancels it and submits another.
    /// A socket closed without being deregistered is refused as an invalid handle: re-arming then forgets it (as mio and
    /// wepoll do) where <paramref name="forgetIfClosed"/>; anything else the kernel refuses throws.
    /// </summary>
    private void Arm(AfdRegistration registration, bool forgetIfClosed)
    {
        var wanted = registration.WantedEvents;
        if (registration.Deleted || (registration.Current is not null && registration.CurrentEvents == wanted))
        {
            return;
        }

        Cancel(registration);
        if (wanted == 0)
        {
            return;
        }

        var op = AfdPollOperation.Allocate(registration.BaseHandle, wanted | AFD_POLL_LOCAL_CLOSE);
        var status = Ntdll.AfdPoll(_afd, &op->IoStatus, &op->Info, op);
        if (status is not (STATUS_SUCCESS or STATUS_PENDING))
        {
            NativeMemory.Free(op); // refused at once: the kernel holds no reference to it
            if (forgetIfClosed && status == STATUS_INVALID_HANDLE)
            {
                Forget(registration);
                return;
            }

            throw new SyscallException("NtDeviceIoControlFile(IOCTL_AFD_POLL)", Ntdll.ToErrno(status));
        }

        _inFlight.Add((nint)op, registration);
        registration.Current = op;
        registration.CurrentEvents = wanted;
    }

    /// <summary>Cancels the registration's poll in flight; its memory is freed when its completion is dequeued.</summary>
    private void Cancel(AfdRegistration registration)
    {
        var op = registration.Current;
        if (op is not null)
        {
            registration.Current = null;
            _ = Ntdll.CancelAfdPoll(_afd, &op->IoStatus); // fails only if it has completed: its packet is queued anyway
        }
    }

    private void Forget(AfdRegistration registration)
    {
        registration.Deleted = true;
        s_bySocket.TryRemove(KeyValuePair.Create(registration.Socket, registration));
        _registrations.Remove(registration);
        Cancel(registration);
    }

    /// <summary>Arms the registrations that reported an event in the last wait (what they want: see <see cref="AfdRegistration.WantedEvents"/>).</summary>
    private void RearmQueued()
    {
        while (_rearm.Count > 0)
        {
            var registration = _rearm[^1];
            _rearm.RemoveAt(_rearm.Count - 1);
            registration.RearmQueued = false;
            Arm(registration, forgetIfClosed: true);
        }
    }

    /// <summary>Takes one dequeued poll: frees its memory and turns what it reported into an event, if it still matters.</summary>
    private bool Complete(AfdPollOperation* op, out PollEvent polled)
    {
        polled = default;
        if (!_inFlight.Remove((nint)op, out var registration))
        {
            return false; // not ours (cannot happen: only this poller's polls complete on this port)
        }

        var status = op->IoStatus.Status;
        var events = op->ResultEvents;
        var current = registration.Current == op;
        NativeMemory.Free(op);
        if (!current || registration.Deleted)
        {
            return false;
        }

        registration.Current = null;
        if ((events & AFD_POLL_LOCAL_CLOSE) != 0)
        {
            Forget(registration); // closed without deregistering: its handle number may come back as another socket
            return false;
        }

        if (status != STATUS_CANCELLED)
        {
            events &= AfdEvents.For(registration.Interest);
            if (!registration.IsLevelTriggered)
            {
                registration.Reported |= events;
            }
        }
        else
        {
            events = 0; // cancelled by someone else (the thread that submitted it exited, say): simply poll again
        }

        if (!registration.RearmQueued)
        {
            registration.RearmQueued = true;
            _rearm.Add(registration);
        }

        if (events == 0)
        {
            return false;
        }

        polled = new PollEvent(registration.Token, AfdEvents.ToReadiness(events));
        return true;
    }

    private void EnsureEntries(int count)
    {
        if (_entryCapacity < count)
        {
            NativeMemory.Free(_entries);
            _entries = null;
            _entries = (OverlappedEntry*)NativeMemory.Alloc((nuint)count, (nuint)sizeof(OverlappedEntry));
            _entryCapacity = count;
        }
    }

    private void DrainCancelled()
    {
        // Into the poller's own buffer: a stackalloc'd one here hung Wine 8.0 before the method's first line ran.
        const int Batch = 16;
        EnsureEntries(Batch);
        var entries = _entries;
        var start = Stopwatch.GetTimestamp();
        while (_inFlight.Count > 0 && Stopwatch.GetElapsedTime(start).TotalMilliseconds < CancelDrainMs)
        {
            var n = Kernel32.Dequeue(_port, entries, Batch, 50, out _);
            for (var i = 0; i < n; i++)
            {
                if (entries[i].Overlapped is not null && _inFlight.Remove((nint)entries[i].Overlapped))
                {
                    NativeMemory.Free(entries[i].Overlapped);
                }
            }

            if (n < 0)
            {
                break;
            }
        }
    }
}
