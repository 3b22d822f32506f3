using System.Diagnostics.Metrics;
using EchoServer.Echo;

namespace EchoServer.Program;

/// <summary>
/// Publishes the server's counters as a <see cref="Meter"/> named "echoserver", readable by
/// <c>dotnet-counters monitor -n echoserver --counters echoserver</c> and by OpenTelemetry's
/// <c>AddMeter("echoserver")</c> without code changes. Every instrument is observable: the hot path
/// only bumps plain fields, and the values are read when a listener asks.
/// </summary>
internal sealed class EchoMetrics : IDisposable
{
    /// <summary>The meter's name, the same as the command's.</summary>
    public const string MeterName = "echoserver";

    private readonly Meter _meter;
    private readonly IReadOnlyList<EchoService> _services;

    public EchoMetrics(IReadOnlyList<EchoService> services)
    {
        _services = services;
        _meter = new Meter(MeterName, typeof(EchoMetrics).Assembly.GetName().Version?.ToString());
        _meter.CreateObservableCounter("echoserver.connections.accepted", () => Sum(c => c.Accepted), "{connection}",
            "Connections accepted and served");
        _meter.CreateObservableCounter("echoserver.connections.rejected", () => Sum(c => c.Rejected), "{connection}",
            "Connections closed at once because --max-connections was reached");
        _meter.CreateObservableCounter("echoserver.connections.rejected_per_address", () => Sum(c => c.RejectedPerAddress), "{connection}",
            "Connections closed at once because their address (IPv6: /64) had --max-connections-per-address open");
        _meter.CreateObservableUpDownCounter("echoserver.pending.bytes", () => SumBudgets(b => b.Total), "By",
            "Memory held for clients that do not read fast enough (copied tails and bytes in pipes), bounded by --max-pending-total");
        _meter.CreateObservableUpDownCounter("echoserver.connections.active", () => Sum(c => c.Active), "{connection}",
            "Connections open now");
        _meter.CreateObservableCounter("echoserver.connections.closed", ClosedByReason, "{connection}",
            "Connections closed, by reason");
        _meter.CreateObservableCounter("echoserver.bytes.received", () => Sum(c => c.BytesReceived), "By",
            "Bytes read from clients");
        _meter.CreateObservableCounter("echoserver.bytes.sent", () => Sum(c => c.BytesSent), "By",
            "Bytes written back to clients");
        _meter.CreateObservableCounter("echoserver.loop.iterations", () => SumLoops(l => l.Iterations), "{iteration}",
            "Event-loop turns (one wait each)");
        _meter.CreateObservableCounter("echoserver.loop.events", () => SumLoops(l => l.EventsDispatched), "{event}",
            "Readiness events dispatched; divided by iterations, the events per wait");
        _meter.CreateObservableCounter("echoserver.udp.datagrams.echoed", () => SumUdp(u => u.DatagramsEchoed), "{datagram}",
            "UDP datagrams answered (--udp)");
        _meter.CreateObservableCounter("echoserver.udp.datagrams.dropped", UdpDropped, "{datagram}",
            "UDP datagrams not answered, by reason: forbidden_source_port, rate_limited, send_failed");
    }

    /// <summary>A one-line summary for --stats-interval.</summary>
    public string Summary()
    {
        var iterations = SumLoops(l => l.Iterations);
        var events = SumLoops(l => l.EventsDispatched);
        return $"active={Sum(c => c.Active)} accepted={Sum(c => c.Accepted)} rejected={Sum(c => c.Rejected)} "
            + $"rejected_per_address={Sum(c => c.RejectedPerAddress)} pending_bytes={SumBudgets(b => b.Total)} "
            + $"closed={Enum.GetValues<CloseReason>().Sum(r => Sum(c => c.Closed(r)))} "
            + $"bytes_received={Sum(c => c.BytesReceived)} bytes_sent={Sum(c => c.BytesSent)} "
            + $"loop_iterations={iterations} events_per_wait={(iterations == 0 ? 0 : (double)events / iterations):F2}"
            + (_services.Any(s => s.Udp.Count > 0)
                ? $" udp_echoed={SumUdp(u => u.DatagramsEchoed)} udp_dropped={SumUdp(u => u.DroppedForbiddenPort + u.DroppedRateLimited + u.DroppedSendFailed)}"
                : string.Empty);
    }

    private long Sum(Func<EchoCounters, long> read) => _services.Sum(s => read(s.Context.Counters));

    private long SumBudgets(Func<PendingBudget, long> read) => _services.Sum(s => read(s.Context.Budget));

    private long SumUdp(Func<UdpEchoHandler, long> read) => _services.Sum(s => s.Udp.Sum(read));

    private IEnumerable<Measurement<long>> UdpDropped()
    {
        yield return new(SumUdp(u => u.DroppedForbiddenPort), new KeyValuePair<string, object?>("reason", "forbidden_source_port"));
        yield return new(SumUdp(u => u.DroppedRateLimited), new KeyValuePair<string, object?>("reason", "rate_limited"));
        yield return new(SumUdp(u => u.DroppedSendFailed), new KeyValuePair<string, object?>("reason", "send_failed"));
    }

    private long SumLoops(Func<Reactor.EventLoop, long> read) => _services.Sum(s => read(s.Loop));

    private IEnumerable<Measurement<long>> ClosedByReason() =>
        Enum.GetValues<CloseReason>().Select(reason =>
            new Measurement<long>(Sum(c => c.Closed(reason)), new KeyValuePair<string, object?>("reason", ReasonTag(reason))));

    private static string ReasonTag(CloseReason reason) => reason switch
    {
        CloseReason.ClientFinished => "client_finished",
        CloseReason.ClientReset => "client_reset",
        CloseReason.Error => "error",
        CloseReason.IdleTimeout => "idle_timeout",
        CloseReason.PeerTimedOut => "peer_timed_out",
        _ => "shutdown",
    };

    public void Dispose() => _meter.Dispose();
}
