namespace EchoServer.Reactor.Pollers;

/// <summary>
/// Over libkqueue only: edges lost past a full batch are made up for by reporting every edge-triggered
/// registration once. libkqueue's <c>kevent()</c> asks epoll for as many events as the caller gave it slots, turns an fd
/// with both filters into two kevents, and drops the epoll events left when the slots run out; an EV_CLEAR filter
/// is EPOLLET there, so a dropped edge is never reported again (docs/design.md, "kqueue over libkqueue", point 6).
/// A kernel kqueue keeps what does not fit queued for the next call: there none of this runs.
/// </summary>
internal sealed unsafe partial class KqueuePoller
{
    // libkqueue's MAX_KEVENT (src/common/private.h): kevent() clips nevents to it, so a batch of this many is full.
    private const int LibkqueueMaxEvents = 512;

    // Wait's thread only: the fds owed a report, and how many of them have had it.
    private readonly List<int> _owedRescan = [];
    private int _owedRescanNext;

    /// <summary>The most events one kevent() call is asked for: libkqueue returns at most its MAX_KEVENT.</summary>
    private int WaitLimit(int capacity) => _k.InLibkqueue ? Math.Min(capacity, LibkqueueMaxEvents) : capacity;

    /// <summary>After a full batch over libkqueue, owes every edge-triggered registration a report.</summary>
    private void RescanIfFull(int n, int limit)
    {
        if (!_k.InLibkqueue || n < limit)
        {
            return;
        }

        _owedRescan.Clear();
        _owedRescanNext = 0;
        lock (_lock)
        {
            foreach (var (fd, registration) in _registered)
            {
                if ((registration.Interest & Interest.LevelTriggered) == 0)
                {
                    _owedRescan.Add(fd);
                }
            }
        }
    }

    /// <summary>
    /// Fills <paramref name="events"/> with owed reports (readiness in each one's interest, as a fresh filter would
    /// give; spurious readiness is within the contract) for fds still registered; 0 once none is owed.
    /// </summary>
    private int TakeOwedRescan(Span<PollEvent> events)
    {
        if (_owedRescanNext >= _owedRescan.Count)
        {
            return 0;
        }

        var n = 0;
        lock (_lock)
        {
            while (n < events.Length && _owedRescanNext < _owedRescan.Count)
            {
                var fd = _owedRescan[_owedRescanNext++];
                if (_registered.TryGetValue(fd, out var registration) && (registration.Interest & Interest.LevelTriggered) == 0)
                {
                    events[n++] = new PollEvent(registration.Token, OwedReadiness(registration.Interest));
                }
            }
        }

        return n;
    }

    private Readiness OwedReadiness(Interest interest) =>
        ((interest & Interest.Readable) != 0 ? ToReadiness(_k, _k.EVFILT_READ, 0, 0) : Readiness.None)
        | ((interest & Interest.Writable) != 0 ? ToReadiness(_k, _k.EVFILT_WRITE, 0, 0) : Readiness.None);
}
