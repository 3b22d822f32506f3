using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// Owns one registered <see cref="Source"/> and reacts to its readiness. The <see cref="EventLoop"/> calls it only on
/// the loop thread, only while its token is live, and disposes it when the loop shuts down (after the source has
/// been deregistered), so <see cref="IDisposable.Dispose"/> must close the socket.
/// </summary>
public interface IReadinessHandler : IDisposable
{
    /// <summary>
    /// The source of <paramref name="token"/> is ready. Edge-triggered (the default): do the I/O until EAGAIN, or stop
    /// early and call <see cref="EventLoop.Schedule"/> to be called again without a new edge. Level-triggered
    /// (<see cref="Interest.LevelTriggered"/>): do what the report allows; the next wait reports it again while the
    /// condition holds, so drop interest that cannot be acted on.
    /// </summary>
    void OnReady(EventLoop eventLoop, Token token, Readiness readiness);
}
