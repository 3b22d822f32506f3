using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;
using static EchoServer.Reactor.Interop.AfdConstants;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The Windows backend, as mio and wepoll build it: a handle on <c>\Device\Afd</c> associated with an I/O completion port,
/// and one IOCTL_AFD_POLL in flight per registered socket (on its base handle). A poll is one-shot and afd.sys reports
/// levels, so edge-triggered registrations leave what they reported out of the next poll until the owner's operation in that
/// direction returns would-block and says so (<see cref="RearmAfterWouldBlock"/>); level-triggered ones poll for everything
/// again at the next wait. docs/design.md, "The Windows backend", has the whole story (and what Wine runs of it).
/// </summary>
internal sealed unsafe class AfdPoller : IPoller
{
    // Every AFD registration in the process, by socket: an owner's would-block finds its registration here without knowing
    // the poller. So a socket can be registered with one AFD poller at a time.
    private static readonly ConcurrentDictionary<nint, AfdRegistration> s_bySocket = new();

    // Bounds Dispose's wait for the completions of the polls it cancels; what does not come back in time stays allocated.
    private const int CancelDrainMs = 2000;

    private readonly Lock _lock = new();
    private readonly HashSet<AfdRegistration> _registrations = [];
    private readonly Dictionary<nint, AfdRegistration> _inFlight = []; // every submitted poll not yet dequeued, by its memory
    private readonly List<AfdRegistration> _rearm = [];
    private nint _port;
    private nint _afd;
    private OverlappedEntry* _entries;
    private int _entryCapacity;
    private volatile bool _disposed;

    /// <summary>Creates the completion port and the AFD handle, and associates them.</summary>
    /// <exception cref="PlatformNotSupportedException">Not running on Windows.</exception>
    /// <exception cref="SyscallException">The kernel refused.</exception>
    public AfdPoller()
    {
        if (!OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("AFD polling exists only on Windows.");
        }

        _port = Kernel32.CreatePort(out var errno);
        if (_port == 0)
        {
            throw new SyscallException("CreateIoCompletionPort", errno);
        }

        _afd = Ntdll.OpenAfd(out errno);
        if (_afd == 0 || (errno = Kernel32.Associate(_port, _afd, 0)).Value != 0)
        {
            Kernel32.CloseOnce(ref _afd);
            Kernel32.CloseOnce(ref _port);
            throw new SyscallException(@"NtCreateFile(\Device\Afd)", errno);
        }
    }

    /// <inheritdoc/>
    public string Name => "afd";

    /// <inheritdoc/>
    public void Register(Source source, Token token, Interest interest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        InterestCheck.ThrowIfInvalid(interest);
        var baseHandle = Ws2_32.BaseHandle(source.Handle, out var errno);
        if (baseHandle == WinsockConstants.INVALID_SOCKET)
        {
            throw new SyscallException("WSAIoctl(SIO_BASE_HANDLE)", errno);
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var registration = new AfdRegistration(this, source.Handle, baseHandle, token, interest);
            if (!s_bySocket.TryAdd(source.Handle, registration))
            {
                throw new SyscallException("AFD register (already registered)", new Errno(OsConstants.Current.EEXIST));
            }

            _registrations.Add(registration);
            try
            {
                Arm(registration);
            }
            catch
            {
                Forget(registration);
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public void Reregister(Source source, Token token, Interest interest)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        InterestCheck.ThrowIfInvalid(interest);
        lock (_lock)
        {
            var registration = Find(source, "AFD reregister");
            registration.Token = token;
            registration.Interest = interest;
            registration.Reported = 0; // a reregister re-arms everything, as epoll_ctl(MOD) does
            Arm(registration);
        }
    }

    /// <inheritdoc/>
    public void Deregister(Source source)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            Forget(Find(source, "AFD deregister"));
        }
    }

    /// <inheritdoc/>
    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (events.IsEmpty)
        {
            throw new ArgumentException("The event buffer must have room for at least one event.", nameof(events));
        }

        EnsureEntries(events.Length);
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                RearmQueued();
            }

            var left = timeoutMs <= 0 ? timeoutMs : Math.Max(0, timeoutMs - (int)Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var n = Kernel32.Dequeue(_port, _entries, events.Length, left, out var errno);
            if (n < 0)
            {
                throw new SyscallException("GetQueuedCompletionStatusEx", errno);
            }

            var produced = 0;
            lock (_lock)
            {
                for (var i = 0; i < n; i++)
                {
                    if (_entries[i].Overlapped is null)
                    {
                        events[produced++] = new PollEvent(new Token(_entries[i].CompletionKey), Readiness.Readable);
                    }
                    else if (Complete((AfdPollOperation*)_entries[i].Overlapped, out var polled))
                    {
                        events[produced++] = polled;
                    }
                }
            }

            // Completions that report nothing (superseded, cancelled, closed) are not events: wait on for what time is left.
            if (produced > 0 || n == 0 || left == 0)
            {
                return produced;
            }
        }
    }

    /// <inheritdoc/>
    public IWaker CreateWaker(Token token)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return new CompletionPortWaker(this, token);
    }

    /// <summary>
    /// The owner of <paramref name="socket"/> got would-block in <paramref name="direction"/> (a read or accept: Readable; a
    /// write: Writable): re-arms the edge it had consumed, so the next change in that direction is reported. Edge-triggered
    /// readiness needs this on Windows (afd.sys cannot see the owner drain a socket); a socket no AFD poller holds is ignored.
    /// </summary>
    internal static void RearmAfterWouldBlock(nint socket, Interest direction)
    {
        if (s_bySocket.TryGetValue(socket, out var registration))
        {
            registration.Poller.Rearm(registration, direction);
        }
    }

    /// <summary>Posts a waker's packet (see <see cref="CompletionPortWaker"/>); nothing once disposed.</summary>
    internal void Post(Token token)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                SyscallException.ThrowIfError("PostQueuedCompletionStatus", Kernel32.Post(_port, (nuint)token.Value));
            }
        }
    }

    private void Rearm(AfdRegistration registration, Interest direction)
    {
        var consumable = ((direction & Interest.Readable) != 0 ? AfdEvents.ReadConsumable : 0)
            | ((direction & Interest.Writable) != 0 ? AfdEvents.WriteConsumable : 0);
        lock (_lock)
        {
            if (!_disposed && !registration.Deleted && (registration.Reported & consumable) != 0)
            {
                registration.Reported &= ~consumable;
                Arm(registration);
            }
        }
    }

    private AfdRegistration Find(Source source, string call) =>
        s_bySocket.TryGetValue(source.Handle, out var registration) && registration.Poller == this
            ? registration
            : throw new SyscallException(call + " (not registered)", new Errno(OsConstants.Current.ENOENT));

    /// <summary>Makes the poll in flight ask for what the registration wants now: leaves it, or cancels it and submits another.</summary>
    private void Arm(AfdRegistration registration)
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

    private void RearmQueued()
    {
        foreach (var registration in _rearm)
        {
            registration.RearmQueued = false;
            Arm(registration);
        }

        _rearm.Clear();
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
            events = 0; // cancelled by someone else (its thread exited, say): simply poll again
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

    /// <summary>
    /// Cancels every poll in flight, waits (bounded) for their completions so their memory can be freed, then closes the
    /// handles. A poll whose completion does not come back in time is left allocated: the kernel may still write into it.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var registration in _registrations.ToList())
            {
                Forget(registration);
            }

            _rearm.Clear();
        }

        DrainCancelled();
        Kernel32.CloseOnce(ref _afd);
        Kernel32.CloseOnce(ref _port);
        NativeMemory.Free(_entries);
        _entries = null;
        _entryCapacity = 0;
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
