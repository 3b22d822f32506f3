using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// The Windows backend, as mio and wepoll build it: a handle on <c>\Device\Afd</c> associated with an I/O completion port,
/// and one IOCTL_AFD_POLL in flight per registered socket (on its base handle). A poll is one-shot and afd.sys reports
/// levels, so edge-triggered registrations leave what they reported out of the next poll until the owner's operation in that
/// direction returns would-block and says so (<see cref="RearmAfterWouldBlock"/>); level-triggered ones poll for everything
/// again at the next wait. docs/design.md, "The Windows backend", has the whole story (and what Wine runs of it).
/// </summary>
internal sealed unsafe partial class AfdPoller : IPoller
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
                Arm(registration, forgetIfClosed: false);
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
            ObjectDisposedException.ThrowIf(_disposed, this);
            var registration = Find(source, "AFD reregister");
            registration.Token = token;
            registration.Interest = interest;
            registration.Reported = 0; // a reregister re-arms everything, as epoll_ctl(MOD) does
            Arm(registration, forgetIfClosed: false);
        }
    }

    /// <inheritdoc/>
    public void Deregister(Source source)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
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
}
