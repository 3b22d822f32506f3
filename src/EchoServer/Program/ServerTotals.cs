using EchoServer.Echo;
using EchoServer.Systemd;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// The host's counts summed over every reactor: the service manager's STATUS= line while the server runs, and
/// the totals logged once it has stopped.
/// </summary>
internal static class ServerTotals
{
    public static int OpenConnections(List<EchoService> services) => services.Sum(s => s.Context.Counters.Active);

    /// <summary>The STATUS= text: open and served connections, or what the drain still waits for.</summary>
    public static string Status(List<EchoService> services, int listenerCount) => services[0].Context.Draining
        ? $"draining: {OpenConnections(services)} connection(s) left"
        : $"{OpenConnections(services)} connection(s) open, {services.Sum(s => s.Context.Counters.Accepted)} served; {listenerCount} listener(s)";

    /// <summary>Logs connections and bytes served, per listener and over UDP, and notifications that could not be sent.</summary>
    public static void LogStopped(ILogger logger, List<EchoService> services,
        List<(string Address, EchoListener Listener)> listeners, ServiceNotifier? notifier)
    {
        var accepted = services.Sum(s => s.Context.Counters.Accepted);
        var echoed = services.Sum(s => s.Context.Counters.BytesSent);
        EchoLog.Stopped(logger, accepted, echoed);
        var perListener = string.Join(", ", listeners.GroupBy(l => l.Address).Select(g => $"{g.Key}={g.Sum(l => l.Listener.Accepted)}"));
        HostLog.AcceptedPerListener(logger, perListener);
        var udp = services[0].Udp;
        if (udp.Count > 0)
        {
            var (udpEchoed, forbidden, limited, failed) = (udp.Sum(u => u.DatagramsEchoed), udp.Sum(u => u.DroppedForbiddenPort),
                udp.Sum(u => u.DroppedRateLimited), udp.Sum(u => u.DroppedSendFailed));
            EchoLog.UdpStopped(logger, udpEchoed, forbidden, limited, failed);
        }

        if (notifier is { FailedSends: > 0 })
        {
            HostLog.NotifyFailed(logger, notifier.FailedSends);
        }
    }
}
