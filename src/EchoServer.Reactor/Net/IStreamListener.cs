using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A non-blocking listening stream socket (TCP or unix-domain): register <see cref="Source"/> as
/// <see cref="Interest.Readable"/> and call <see cref="TryAccept"/> until it reports EAGAIN. Both accept
/// <see cref="StreamSocket"/>s (read, write, shutdown and close work the same for both families; TCP-only options
/// such as TCP_NODELAY just return an error on a unix socket).
/// </summary>
public interface IStreamListener : IDisposable
{
    /// <summary>What to register with the event loop (<see cref="Source.None"/> once disposed).</summary>
    Source Source { get; }

    /// <summary>Accepts one pending connection as a non-blocking, close-on-exec socket.</summary>
    /// <param name="socket">The connected socket, now the caller's to dispose.</param>
    /// <param name="errno">EAGAIN when the queue is empty; ECONNABORTED for a connection that died in the
    /// queue (accept the next); EMFILE/ENFILE when out of descriptors (back off).</param>
    /// <returns>True if a connection was accepted.</returns>
    bool TryAccept(out StreamSocket socket, out Errno errno);
}
