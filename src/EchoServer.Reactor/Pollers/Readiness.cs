namespace EchoServer.Reactor.Pollers;

/// <summary>
/// What a poller reports about a registered fd. Only <see cref="Readable"/> and <see cref="Writable"/>
/// are guaranteed on every backend; <see cref="ReadClosed"/>, <see cref="WriteClosed"/> and
/// <see cref="Error"/> are hints that may be missing (the result of the next read or write is the
/// truth). Any readiness may be spurious: an operation may still return EAGAIN.
/// </summary>
[Flags]
public enum Readiness : byte
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>A read will not block (it may return data, end of stream, or an error).</summary>
    Readable = 1,

    /// <summary>A write will not block.</summary>
    Writable = 2,

    /// <summary>The peer will send no more (FIN received, or the socket was reset).</summary>
    ReadClosed = 4,

    /// <summary>Writing can no longer succeed (the connection is gone or shut down for writing).</summary>
    WriteClosed = 8,

    /// <summary>The socket has a pending error (read it with SO_ERROR or the next operation).</summary>
    Error = 16,

    /// <summary>
    /// TCP urgent data is pending, or may be: a read can then stop short at the urgent mark with more queued
    /// behind it, so a short read does not prove the receive queue empty. Comes with <see cref="Readable"/>.
    /// epoll reports it exactly (EPOLLPRI); kqueue and AFD (Windows) cannot tell and report it with every read event.
    /// </summary>
    Priority = 32,
}
