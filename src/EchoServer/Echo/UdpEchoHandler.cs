using System.Diagnostics;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// UDP echo (RFC 862): each datagram is answered with one datagram of the same payload (0 bytes
/// included) to its source. Registered readable, edge-triggered; drains to EAGAIN within a budget.
/// </summary>
/// <remarks>
/// UDP echo reflects: a forged source address turns the server into a traffic cannon aimed at the
/// forged host. So it never answers source port 0 or the ports of other reflecting services (echo 7,
/// daytime 13, qotd 17, chargen 19, time 37; two echo servers aimed at each other would loop forever),
/// and limits each source IP through <see cref="UdpRateLimiter"/>. Every datagram not answered is counted
/// by reason. Nothing is queued: a reply the kernel will not take at once is dropped, as UDP may.
/// </remarks>
internal sealed class UdpEchoHandler(UdpSocket socket, EchoContext context, UdpRateLimiter limiter, int datagramsPerWakeup = 64)
    : IReadinessHandler
{
    private long _echoed;
    private long _droppedForbiddenPort;
    private long _droppedRateLimited;
    private long _droppedSendFailed;
    private long _receiveErrors;

    public Token Token { get; set; }

    public UdpSocket Socket => socket;

    /// <summary>Datagrams answered.</summary>
    public long DatagramsEchoed => Volatile.Read(ref _echoed);

    /// <summary>Datagrams from port 0 or a port of a reflecting service (7, 13, 17, 19, 37), not answered.</summary>
    public long DroppedForbiddenPort => Volatile.Read(ref _droppedForbiddenPort);

    /// <summary>Datagrams over their source's rate limit (or from a new source while the limiter's table is full).</summary>
    public long DroppedRateLimited => Volatile.Read(ref _droppedRateLimited);

    /// <summary>Answers sendto(2) refused: the send buffer was full (EAGAIN) or another error (e.g. EACCES for broadcast).</summary>
    public long DroppedSendFailed => Volatile.Read(ref _droppedSendFailed);

    /// <summary>recvfrom(2) errors other than EAGAIN (e.g. a pending ICMP error reported once).</summary>
    public long ReceiveErrors => Volatile.Read(ref _receiveErrors);

    /// <summary>True for source ports never answered: 0, echo (7), daytime (13), qotd (17), chargen (19), time (37).</summary>
    public static bool IsForbiddenSourcePort(int port) => port is 0 or 7 or 13 or 17 or 19 or 37;

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        var buffer = context.ReadBuffer;
        var now = Stopwatch.GetTimestamp();
        var received = 0;
        for (var i = 0; i < datagramsPerWakeup; i++)
        {
            var n = socket.ReceiveFrom(buffer, out var source, out var errno);
            if (n < 0)
            {
                if (errno.IsWouldBlock)
                {
                    return;
                }

                // A socket error (such as an ICMP port unreachable) is reported once; the next datagram follows.
                Volatile.Write(ref _receiveErrors, _receiveErrors + 1);
                continue;
            }

            received++;
            if (IsForbiddenSourcePort(source.Port))
            {
                Volatile.Write(ref _droppedForbiddenPort, _droppedForbiddenPort + 1);
                continue;
            }

            if (!limiter.TryAcquire(source, now))
            {
                Volatile.Write(ref _droppedRateLimited, _droppedRateLimited + 1);
                continue;
            }

            if (socket.SendTo(buffer.AsSpan(0, n), source, out _) < 0)
            {
                Volatile.Write(ref _droppedSendFailed, _droppedSendFailed + 1);
                continue;
            }

            Volatile.Write(ref _echoed, _echoed + 1);
            context.Counters.BytesReceived += n;
            context.Counters.BytesSent += n;
        }

        // Budget spent with datagrams possibly still queued: no new edge will come for them, so ask to be
        // called again after the others. Not after a turn of errors only, which would spin on a broken socket.
        if (received > 0)
        {
            eventLoop.Schedule(Token, readiness);
        }
    }

    public void Dispose() => socket.Dispose();
}
