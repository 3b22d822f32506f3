using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using EchoServer.Program;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The "echoserver" meter reports what a test actually sent, read the way dotnet-counters or OpenTelemetry would.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task Meter_counts_connections_bytes_and_closes_that_match_the_traffic()
    {
        using var server = new InProcessServer();
        using var metrics = new EchoMetrics([server.Service]);
        const int clients = 5;
        const int bytesEach = 10_000;

        for (var i = 0; i < clients; i++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(IPAddress.Loopback, server.Port, TestContext.Current.CancellationToken);
            var payload = new byte[bytesEach];
            payload.AsSpan().Fill((byte)i);
            await socket.SendAsync(payload, TestContext.Current.CancellationToken);
            socket.Shutdown(SocketShutdown.Send);
            var received = 0;
            var buffer = new byte[4096];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken)) > 0)
            {
                received += n;
            }

            received.Should().Be(bytesEach);
        }

        // The server closes each connection after echoing everything; wait until it has counted the last close.
        await Wait.UntilAsync(() => server.OnLoop(s => s.Context.Counters.Active) == 0, Patience.Settle, "the server has counted every close");

        var values = server.OnLoop(_ => Collect());
        values["echoserver.connections.accepted"].Should().Be(clients);
        values["echoserver.connections.active"].Should().Be(0);
        values["echoserver.connections.rejected"].Should().Be(0);
        values["echoserver.connections.rejected_per_address"].Should().Be(0);
        values["echoserver.pending.bytes"].Should().Be(0, "every echo went out whole, so nothing was kept");
        values["echoserver.connections.closed|client_finished"].Should().Be(clients);
        values["echoserver.bytes.received"].Should().Be(clients * bytesEach);
        values["echoserver.bytes.sent"].Should().Be(clients * bytesEach);
        values["echoserver.loop.iterations"].Should().BePositive();
        values["echoserver.loop.events"].Should().BePositive();
        metrics.Summary().Should().Contain($"accepted={clients}").And.Contain($"bytes_received={clients * bytesEach}");
    }

    private static Dictionary<string, long> Collect()
    {
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == EchoMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += "|" + tag.Value;
            }

            values[key] = value;
        });
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }
}
