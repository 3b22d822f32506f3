using System.Diagnostics;
using System.Globalization;
using EchoServer.Reactor;

namespace EchoBench;

/// <summary>What a run prints: a progress line on stderr at each progress interval, and the RESULT line.</summary>
internal sealed partial class BenchRun
{
    private TimeSpan? OnProgress(EventLoop loop)
    {
        if (_phase is Phase.Finished or Phase.Draining)
        {
            return null;
        }

        var now = Stopwatch.GetTimestamp();
        var seconds = Math.Max(1e-9, (now - _progressTicks) / (double)Stopwatch.Frequency);
        var messages = Stats.AllMessages - _progressMessages;
        var bytes = Stats.AllBytes - _progressBytes;
        var phase = _phase == Phase.Warmup ? (Options.Mode == BenchMode.Idle ? "connecting" : "warmup") : (Options.Mode == BenchMode.Idle ? "holding" : "measuring");
        _error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{_name}: {(now - _startTicks) / (double)Stopwatch.Frequency:F1}s {phase} msgs={Stats.Messages} msgs/s={messages / seconds:F0} MB/s={bytes / seconds / 1e6:F2} open={_open}/{_connections.Length} errors={Stats.Errors}"));
        _progressMessages = Stats.AllMessages;
        _progressBytes = Stats.AllBytes;
        _progressTicks = now;
        return Options.Progress;
    }

    private string FormatResult()
    {
        var seconds = _measureStart == 0 ? 0 : Math.Max(0, (_measureEnd - _measureStart) / (double)Stopwatch.Frequency);
        var perSecond = seconds > 0 ? Stats.Messages / seconds : 0;
        var megabytes = seconds > 0 ? Stats.Bytes / seconds / 1e6 : 0;
        var latency = Stats.Latency;
        return string.Create(CultureInfo.InvariantCulture,
            $"RESULT mode={BenchOptions.ModeName(Options.Mode)} conns={Options.Connections} size={Options.Size} depth={(Options.Mode == BenchMode.Pipeline ? Options.Depth : 0)} duration_s={seconds:F2} " +
            $"msgs={Stats.Messages} msgs_per_s={perSecond:F1} mb_per_s={megabytes:F3} " +
            $"p50_us={latency.ValueAt(0.50) / 1000.0:F1} p99_us={latency.ValueAt(0.99) / 1000.0:F1} p999_us={latency.ValueAt(0.999) / 1000.0:F1} " +
            $"errors={Stats.Errors} mismatched={Stats.Mismatched} connect_failures={Stats.ConnectFailures} resets={Stats.Resets} eof={Stats.Eof} short={Stats.Short}");
    }
}
