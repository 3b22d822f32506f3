namespace EchoServer.Reactor.Pollers;

/// <summary>What readiness a registration asks to be told about, and how (edge- or level-triggered).</summary>
[Flags]
public enum Interest : byte
{
    /// <summary>Data (or end of stream, or a pending connection) can be read.</summary>
    Readable = 1,

    /// <summary>The socket's send buffer has room.</summary>
    Writable = 2,

    /// <summary>Both directions.</summary>
    ReadWrite = Readable | Writable,

    /// <summary>
    /// Opt-in, with <see cref="Readable"/> and/or <see cref="Writable"/>: report while the condition holds, not once
    /// per change (epoll without EPOLLET, kqueue without EV_CLEAR). Every <see cref="IPoller.Wait"/> reports the fd
    /// again until the owner has read (or written) enough for the condition to end, so the owner may do a bounded
    /// amount of work per report instead of working until EAGAIN; but it must drop (<see cref="IPoller.Reregister"/>)
    /// interest it cannot act on, e.g. reading after the peer's end of stream, or it is woken again and again.
    /// </summary>
    LevelTriggered = 4,
}
