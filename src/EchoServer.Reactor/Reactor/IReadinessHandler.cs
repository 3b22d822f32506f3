using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// Owns one registered fd and reacts to its readiness. The <see cref="EventLoop"/> calls it only on the
/// loop thread, only while its token is live, and disposes it when the loop shuts down (after the fd
/// has been deregistered), so <see cref="IDisposable.Dispose"/> must close the fd.
/// </summary>
public interface IReadinessHandler : IDisposable
{
    /// <summary>
    /// The fd of <paramref name="token"/> is ready. Registration is edge-triggered: do the I/O until
    /// EAGAIN, or stop early and call <see cref="EventLoop.Schedule"/> to be called again without a new edge.
    /// </summary>
    void OnReady(EventLoop eventLoop, Token token, Readiness readiness);
}
