using System.Net;
using Microsoft.Extensions.Logging;

namespace EchoServer.Echo;

/// <summary>Source-generated log messages: no formatting or allocation when the level is off.</summary>
internal static partial class EchoLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "listening on {EndPoint} ({Poller})")]
    public static partial void Listening(ILogger logger, IPEndPoint endPoint, string poller);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "accepted connection {Token:x} from {Peer}")]
    public static partial void Accepted(ILogger logger, ulong token, IPEndPoint? peer);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "closed connection {Token:x}: {Reason}")]
    public static partial void Closed(ILogger logger, ulong token, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning,
        Message = "accept failed: {Error}; pausing accepts (existing connections keep being served), retrying in {DelayMs} ms")]
    public static partial void AcceptPaused(ILogger logger, string error, int delayMs);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information,
        Message = "accepting again after {Attempts} failed accept attempts")]
    public static partial void AcceptResumed(ILogger logger, int attempts);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "connection {Token:x} failed and was closed")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, ulong token);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information,
        Message = "stopping: closing the listener and {Connections} connections")]
    public static partial void Stopping(ILogger logger, int connections);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information,
        Message = "stopped after {Accepted} connections and {Bytes} bytes echoed")]
    public static partial void Stopped(ILogger logger, long accepted, long bytes);
}
