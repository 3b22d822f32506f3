using System.Net;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>Source-generated log messages: no formatting or allocation when the level is off.</summary>
internal static partial class EchoLog
{
    private static readonly Func<ILogger, ulong, string?, IDisposable?> s_connectionScope =
        LoggerMessage.DefineScope<ulong, string?>("conn={Token:x} peer={Peer}");

    /// <summary>A scope naming one connection, so its accept, errors and close can be followed at Debug level.</summary>
    public static IDisposable? ConnectionScope(ILogger logger, ulong token, string? peer) => s_connectionScope(logger, token, peer);

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "listening on {Address} ({Poller}, {Reactors} reactor(s))")]
    public static partial void Listening(ILogger logger, string address, string poller, int reactors);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "accepted")]
    public static partial void Accepted(ILogger logger);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "closed: {Reason} ({Pending} bytes unsent)")]
    public static partial void Closed(ILogger logger, CloseReason reason, int pending);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "accept failed: {Error}; pausing accepts (existing connections keep being served), retrying in {DelayMs} ms")]
    public static partial void AcceptPaused(ILogger logger, string error, int delayMs);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "accepting again: every waiting client was accepted, after {Attempts} pause(s)")]
    public static partial void AcceptResumed(ILogger logger, int attempts);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "connection {Token:x} failed and was closed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, ulong token);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information,
        Message = "draining: stopped accepting; {Connections} connection(s) get up to {TimeoutMs} ms to finish")]
    public static partial void Draining(ILogger logger, int connections, long timeoutMs);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information,
        Message = "stopped: {Accepted} connections served, {Bytes} bytes echoed")]
    public static partial void Stopped(ILogger logger, long accepted, long bytes);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "i/o error: {Error}")]
    public static partial void IoFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning,
        Message = "connection limit of {Limit} reached: new connections are closed at once until some end")]
    public static partial void LimitReached(ILogger logger, int limit);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information,
        Message = "below the connection limit again after rejecting {Rejected} connection(s)")]
    public static partial void LimitCleared(ILogger logger, long rejected);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information,
        Message = "shutdown timeout reached: closing {Connections} connection(s) that were still busy")]
    public static partial void DrainTimedOut(ILogger logger, int connections);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "stats: {Stats}")]
    public static partial void Stats(ILogger logger, string stats);

    [LoggerMessage(EventId = 14, Level = LogLevel.Information, Message = "echoing UDP datagrams on {Address}")]
    public static partial void ListeningUdp(ILogger logger, string address);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information,
        Message = "UDP: {Echoed} datagrams echoed; dropped {ForbiddenPort} from forbidden source ports, {RateLimited} rate limited, {SendFailed} unsendable")]
    public static partial void UdpStopped(ILogger logger, long echoed, long forbiddenPort, long rateLimited, long sendFailed);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning,
        Message = "descriptors nearly exhausted (accepted fd {Fd}, limit {Limit}); pausing accepts to keep {Headroom} free for the runtime (existing connections keep being served), retrying in {DelayMs} ms")]
    public static partial void AcceptPausedNearLimit(ILogger logger, int fd, int limit, int headroom, int delayMs);

    [LoggerMessage(EventId = 18, Level = LogLevel.Warning,
        Message = "pending-bytes budget reached: {Total} bytes owed on one loop (its share of --max-pending-total {Limit} is {Share}); "
            + "reads shrink to 1 KiB until it falls (logged at most every 10 s)")]
    public static partial void BudgetReached(ILogger logger, long limit, long total, long share);

    [LoggerMessage(EventId = 19, Level = LogLevel.Debug, Message = "{Address} has {Limit} connection(s) open: a new one was reset")]
    public static partial void AddressLimitReached(ILogger logger, AddressGroup address, int limit);

    [LoggerMessage(EventId = 17, Level = LogLevel.Debug, Message = "open-file limit raised from {Before} to {After} (the hard limit)")]
    public static partial void OpenFileLimitRaised(ILogger logger, int before, int after);

    [LoggerMessage(EventId = 18, Level = LogLevel.Warning,
        Message = "cannot set {What} on accepted connections ({Error}); they are served with the OS's rules for what was not set (logged once per listener)")]
    public static partial void KeepAliveFailed(ILogger logger, string what, string error);
}
