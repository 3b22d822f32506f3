namespace EchoServer.Reactor.Pollers;

/// <summary>
/// An OS readiness queue, edge-triggered by default: epoll on Linux, kqueue on macOS/FreeBSD (and, for testing, on Linux
/// over libkqueue: <see cref="PollerFactory.UseLibkqueue"/>), AFD polling on Windows.
/// </summary>
/// <remarks>
/// <para>The contract (after mio's <c>Poll</c>):</para>
/// <list type="bullet">
/// <item>Edge-triggered: after a readiness event the owner must read (or write, or accept) until the
/// call returns EAGAIN. Until then there is no guarantee of another event. (On Windows the poller learns of that
/// EAGAIN from the socket layer: docs/design.md, "The Windows backend".)</item>
/// <item>Level-triggered, where the interest includes <see cref="Interest.LevelTriggered"/> (opt-in, per
/// registration): every wait reports the fd while the condition holds, so the owner may stop after one
/// operation and is told again. It must therefore drop interest it cannot act on (Writable with nothing
/// to write, Readable after end of stream or while it will not read), or every wait returns at once.
/// <see cref="Reregister"/> may switch a registration between the two modes; a switch re-arms it, so a
/// condition that already holds is reported by the next wait (no edge is lost in the switch).</item>
/// <item>Events may be spurious: an operation may still return EAGAIN. Treat that as "wait again".</item>
/// <item>Closed and error flags are hints; the next read or write is authoritative. (Except kqueue over
/// libkqueue on Linux, which clears the socket error it reports: docs/design.md, "kqueue over libkqueue".)</item>
/// <item>The same token may appear twice in one batch (kqueue reports read and write filters separately).</item>
/// <item>After <see cref="Deregister"/>, no future <see cref="Wait"/> returns the fd's token; events already
/// returned in the current batch are not scrubbed — the caller must drop them (the reactor does, by generation).</item>
/// <item>Registering an fd twice without deregistering it is an error.</item>
/// <item>Always deregister before close(2): epoll removes an fd only when every descriptor for its open file
/// description is closed (epoll(7), Q6); kqueue forgets a closed fd, but the kqueue backend still counts it
/// as registered, so registering the reused fd number would fail.</item>
/// <item>Register, reregister and deregister are safe from any thread; <see cref="Wait"/> is for one thread at a
/// time, and Dispose must not run while a Wait is in progress (the event buffer is freed).</item>
/// </list>
/// </remarks>
public interface IPoller : IDisposable
{
    /// <summary>The backend's name: "epoll", "kqueue" or "afd".</summary>
    string Name { get; }

    /// <summary>Starts reporting <paramref name="interest"/> on <paramref name="source"/> with <paramref name="token"/>.</summary>
    void Register(Source source, Token token, Interest interest);

    /// <summary>Replaces the interest and token of a registered source; one not registered throws <see cref="SyscallException"/> with ENOENT.</summary>
    void Reregister(Source source, Token token, Interest interest);

    /// <summary>Stops reporting events for <paramref name="source"/>; one not registered throws <see cref="SyscallException"/> with ENOENT.</summary>
    void Deregister(Source source);

    /// <summary>
    /// Blocks until at least one event is ready, the timeout passes, a signal interrupts the wait, or
    /// a waker fires; fills <paramref name="events"/> from the start.
    /// </summary>
    /// <param name="events">Where to put the events; its length caps how many one call returns.</param>
    /// <param name="timeoutMs">-1 waits without limit; 0 polls without blocking.</param>
    /// <returns>How many events were written; 0 on timeout or when a signal interrupted the wait.</returns>
    int Wait(Span<PollEvent> events, int timeoutMs);

    /// <summary>Creates a waker registered on this poller under <paramref name="token"/>.</summary>
    IWaker CreateWaker(Token token);
}
