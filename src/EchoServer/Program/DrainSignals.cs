using System.Runtime.InteropServices;
using EchoServer.Echo;
using EchoServer.Systemd;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// SIGINT and SIGTERM while the server runs: the first starts the drain on every loop (and tells the service
/// manager); a second one is left to its default action, which ends the process at once.
/// </summary>
internal sealed class DrainSignals : IDisposable
{
    private readonly List<EchoService> _services;
    private readonly ServiceNotifier? _notifier;
    private readonly ILogger _logger;
    private readonly TimeSpan _shutdownTimeout;
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;
    private int _signals;

    public DrainSignals(List<EchoService> services, ServiceNotifier? notifier, ILogger logger, TimeSpan shutdownTimeout)
    {
        _services = services;
        _notifier = notifier;
        _logger = logger;
        _shutdownTimeout = shutdownTimeout;
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        try
        {
            _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        }
        catch
        {
            _sigint.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _sigterm.Dispose();
        _sigint.Dispose();
    }

    private void OnSignal(PosixSignalContext signal)
    {
        if (Interlocked.Increment(ref _signals) > 1)
        {
            signal.Cancel = false;
            return;
        }

        signal.Cancel = true;
        var open = ServerTotals.OpenConnections(_services);
        _notifier?.Stopping($"draining: {open} connection(s) left");
        EchoLog.Draining(_logger, open, (long)_shutdownTimeout.TotalMilliseconds);
        foreach (var service in _services)
        {
            service.Loop.Post(_ => service.BeginDrain());
        }
    }
}
