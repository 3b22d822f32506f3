namespace EchoServer.Echo;

/// <summary>Why a connection ended; metrics count closes per reason.</summary>
internal enum CloseReason
{
    /// <summary>The client sent FIN and got everything it was owed.</summary>
    ClientFinished,

    /// <summary>The client reset the connection (ECONNRESET/EPIPE).</summary>
    ClientReset,

    /// <summary>A read or write failed with another error.</summary>
    Error,

    /// <summary>No traffic for longer than --idle-timeout.</summary>
    IdleTimeout,

    /// <summary>
    /// The kernel gave up on a silent client (ETIMEDOUT): keepalive probes went unanswered, or sent bytes stayed
    /// unacknowledged, for the --keepalive bound. A client that vanished without a FIN.
    /// </summary>
    PeerTimedOut,

    /// <summary>Closed by shutdown: quiet during the drain, or still open at --shutdown-timeout.</summary>
    Shutdown,
}
