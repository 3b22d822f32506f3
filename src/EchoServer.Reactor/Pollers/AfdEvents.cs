using static EchoServer.Reactor.Interop.AfdConstants;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// What the AFD poller asks afd.sys to watch for an <see cref="Interest"/>, and how afd.sys's answer reads as
/// <see cref="Readiness"/> (the derivation of mio's <c>src/sys/windows/event.rs</c>, plus priority with every read).
/// </summary>
internal static class AfdEvents
{
    /// <summary>What makes a read (or accept) not block: data, urgent data, end of stream, a queued connection, a failure.</summary>
    public const uint ReadableEvents = AFD_POLL_RECEIVE | AFD_POLL_RECEIVE_EXPEDITED | AFD_POLL_ACCEPT | AFD_POLL_DISCONNECT | AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL;

    /// <summary>What makes a write not block: room in the send buffer, or a failure it will report.</summary>
    public const uint WritableEvents = AFD_POLL_SEND | AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL;

    /// <summary>
    /// The events an owner's would-block re-arms (<see cref="AfdPoller.RearmAfterWouldBlock"/>): the ones an operation
    /// can consume. End of stream, reset and a failed connect never end once they happen, so once reported they stay
    /// reported until a reregister.
    /// </summary>
    public const uint ReadConsumable = AFD_POLL_RECEIVE | AFD_POLL_RECEIVE_EXPEDITED | AFD_POLL_ACCEPT;

    /// <inheritdoc cref="ReadConsumable"/>
    public const uint WriteConsumable = AFD_POLL_SEND;

    /// <summary>The AFD events that make up <paramref name="interest"/>.</summary>
    public static uint For(Interest interest) =>
        ((interest & Interest.Readable) != 0 ? ReadableEvents : 0) | ((interest & Interest.Writable) != 0 ? WritableEvents : 0);

    /// <summary>afd.sys's events as <see cref="Readiness"/>.</summary>
    public static Readiness ToReadiness(uint events)
    {
        var r = Readiness.None;
        if ((events & ReadableEvents) != 0)
        {
            r |= Readiness.Readable;
        }

        // Expedited data is not reported as such under SO_OOBINLINE (Wine never reports it then), so, as on kqueue, any
        // read event may stop short at an urgent mark. It also keeps owners reading to would-block, which re-arms the edge.
        if ((events & (AFD_POLL_RECEIVE | AFD_POLL_RECEIVE_EXPEDITED)) != 0)
        {
            r |= Readiness.Priority;
        }

        if ((events & WritableEvents) != 0)
        {
            r |= Readiness.Writable;
        }

        if ((events & AFD_POLL_CONNECT_FAIL) != 0)
        {
            r |= Readiness.Error;
        }

        if ((events & (AFD_POLL_DISCONNECT | AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL)) != 0)
        {
            r |= Readiness.ReadClosed;
        }

        if ((events & (AFD_POLL_ABORT | AFD_POLL_CONNECT_FAIL)) != 0)
        {
            r |= Readiness.WriteClosed;
        }

        return r;
    }
}
