namespace EchoServer.Reactor.Pollers;

/// <summary>
/// Wakes a thread blocked in <see cref="IPoller.Wait"/> from any other thread (or a signal handler).
/// The wait then reports a readable event for the waker's token.
/// </summary>
public interface IWaker : IDisposable
{
    /// <summary>Makes the poller's current or next wait return. Thread-safe; several wakes may coalesce into one event.</summary>
    void Wake();

    /// <summary>Consumes pending wakes, so the next <see cref="Wake"/> produces a new event. Called on the polling thread.</summary>
    void Reset();
}
