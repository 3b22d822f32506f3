using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>Source-generated log messages of the host: inherited sockets, several listeners, the service manager.</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "listening on {Address} ({Poller}, 1 reactor(s); inherited {Label})")]
    public static partial void ListeningInherited(ILogger logger, string address, string poller, string label);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "echoing UDP datagrams on {Address} (inherited {Label})")]
    public static partial void ListeningUdpInherited(ILogger logger, string address, string label);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "connections per listener: {Counts}")]
    public static partial void AcceptedPerListener(ILogger logger, string counts);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "not notifying the service manager: {Problem}")]
    public static partial void NotifyUnusable(ILogger logger, string problem);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information,
        Message = "notifying the service manager at {Address}{Watchdog}")]
    public static partial void Notifying(ILogger logger, string address, string watchdog);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "{Count} notification(s) to the service manager could not be sent")]
    public static partial void NotifyFailed(ILogger logger, int count);
}
