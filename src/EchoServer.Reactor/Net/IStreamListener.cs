using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A non-blocking listening stream socket (TCP or unix-domain): register <see cref="Fd"/> as
/// <see cref="Pollers.Interest.Readable"/> and call <see cref="Accept"/> until it reports EAGAIN.
/// Accepted fds are connected stream sockets that <see cref="TcpSocket"/> can own (read, write,
/// shutdown and close work the same for both families; TCP-only options such as TCP_NODELAY just
/// return an error on a unix socket).
/// </summary>
public interface IStreamListener : IDisposable
{
    /// <summary>The listening socket's file descriptor (-1 once disposed).</summary>
    int Fd { get; }

    /// <summary>Accepts one pending connection as a non-blocking, close-on-exec socket.</summary>
    /// <param name="errno">EAGAIN when the queue is empty; ECONNABORTED for a connection that died in the
    /// queue (accept the next); EMFILE/ENFILE when out of descriptors (back off).</param>
    /// <returns>The connected socket's fd, or -1.</returns>
    int Accept(out Errno errno);
}

/// <summary>Conveniences over <see cref="IStreamListener"/>.</summary>
public static class StreamListenerExtensions
{
    /// <summary>Accepts one pending connection and wraps it in a <see cref="TcpSocket"/> (any stream socket).</summary>
    /// <returns>The socket, or null with <paramref name="errno"/> set (EAGAIN when the queue is empty).</returns>
    public static TcpSocket? AcceptSocket(this IStreamListener listener, out Errno errno)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var fd = listener.Accept(out errno);
        return fd < 0 ? null : new TcpSocket(fd);
    }
}
