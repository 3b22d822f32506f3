using System.Runtime.InteropServices;
using EchoServer.Echo;
using EchoServer.Systemd;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// What stops the server while it runs: SIGINT and SIGTERM, and on Windows closing the console and Ctrl+Break
/// (<see cref="HostPlatform.HasConsoleEvents"/>). The first starts the drain on every loop (and tells the service
/// manager); a second SIGINT, SIGTERM or Ctrl+Break is left to its default action, which ends the process at once.
/// Windows ends a process as soon as its console-close handler returns, so that handler holds the process while the
/// drain runs (docs/design.md, "The echo server on Windows").
/// </summary>
internal sealed class DrainSignals : IDisposable
{
    /// <summary>
    /// The drain's deadline on a console close: the shutdown timeout, capped so that closing what is left, stopping the
    /// loops and logging the totals fit in the 5 s Windows allows after CTRL_CLOSE_EVENT before it ends the process.
    /// </summary>
    internal static readonly TimeSpan ConsoleCloseDrainCap = TimeSpan.FromSeconds(3);

    /// <summary>The most the console-close handler holds the process, short of Windows' 5 s.</summary>
    internal static readonly TimeSpan ConsoleCloseHold = TimeSpan.FromSeconds(4.5);

    private readonly List<EchoService> _services;
    private readonly ServiceNotifier? _notifier;
    private readonly ILogger _logger;
    private readonly TimeSpan _shutdownTimeout;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _signals;
    private volatile bool _holdingClose;

    public DrainSignals(List<EchoService> services, ServiceNotifier? notifier, ILogger logger, TimeSpan shutdownTimeout)
    {
        _services = services;
        _notifier = notifier;
        _logger = logger;
        _shutdownTimeout = shutdownTimeout;
        try
        {
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, OnStopSignal));
            _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnStopSignal));
            if (HostPlatform.HasConsoleEvents)
            {
                _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnStopSignal)); // Ctrl+Break
                _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnConsoleClose));
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        // The holding handler runs under the console's handler lock, which unregistering takes too: the registrations
        // are left to the end of the process, which is moments away.
        if (_holdingClose)
        {
            return;
        }

        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _registrations.Clear();
    }

    private void OnStopSignal(PosixSignalContext signal)
    {
        if (Interlocked.Increment(ref _signals) > 1)
        {
            signal.Cancel = false;
            return;
        }

        signal.Cancel = true;
        BeginDrain(_shutdownTimeout);
    }

    /// <summary>
    /// CTRL_CLOSE_EVENT: drains (unless a drain runs already) within <see cref="ConsoleCloseDrainCap"/>, and holds the
    /// process meanwhile. Once the drain is done Main returns its exit code and the process ends, this thread with it;
    /// this returns only if that takes longer than <see cref="ConsoleCloseHold"/>, and Windows then ends the process.
    /// </summary>
    private void OnConsoleClose(PosixSignalContext signal)
    {
        signal.Cancel = true;
        _holdingClose = true;
        if (Interlocked.Increment(ref _signals) == 1)
        {
            BeginDrain(_shutdownTimeout < ConsoleCloseDrainCap ? _shutdownTimeout : ConsoleCloseDrainCap);
        }

        Thread.Sleep(ConsoleCloseHold);
    }

    private void BeginDrain(TimeSpan timeout)
    {
        var open = ServerTotals.OpenConnections(_services);
        _notifier?.Stopping($"draining: {open} connection(s) left");
        EchoLog.Draining(_logger, open, (long)timeout.TotalMilliseconds);
        foreach (var service in _services)
        {
            service.Loop.Post(_ => service.BeginDrain(timeout));
        }
    }
}
