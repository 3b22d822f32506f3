using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using EchoServer.Systemd;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// Builds the event loops and their listeners, runs them until SIGINT/SIGTERM, drains, and shuts
/// down in order. One loop runs on the calling thread; with --reactors N the others get a thread each.
/// </summary>
internal static class ServerHost
{
    /// <summary>How often the service manager's STATUS= line is refreshed (sent only when it changed).</summary>
    private static readonly TimeSpan StatusInterval = TimeSpan.FromSeconds(1);

    /// <summary>Runs the server until a signal has drained it; the exit code.</summary>
    public static int Run(ServerSettings settings, ILogger logger, string name)
    {
        RaiseOpenFileLimit(logger);
        var services = new List<EchoService>();
        try
        {
            AddReactors(services, settings, logger);
            var sockets = new ServerSockets(services, settings, logger);
            sockets.OpenAll();
            return RunLoops(services, settings, logger, sockets);
        }
        catch (ListenFailure e)
        {
            ReportListenFailure(name, e);
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is SyscallException or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"{name}: cannot start: {e.Message}");
            return ExitCodes.Failure;
        }
        finally
        {
            DisposeReactors(services);
        }
    }

    /// <summary>One descriptor per client: the usual soft limit of 1024 would cap the server near a thousand.</summary>
    private static void RaiseOpenFileLimit(ILogger logger)
    {
        if (OpenFileLimit.TryRaiseToHardLimit(out var before, out var after))
        {
            EchoLog.OpenFileLimitRaised(logger, before, after);
        }
    }

    /// <summary>
    /// One event loop and echo service per reactor, sharing the connection limits and splitting the memory budget;
    /// added one by one so a failure disposes those made.
    /// </summary>
    private static void AddReactors(List<EchoService> services, ServerSettings settings, ILogger logger)
    {
        var gate = new ConnectionGate(settings.Echo.MaxConnections);
        var addresses = settings.Echo.MaxConnectionsPerAddress > 0 ? new AddressGate(settings.Echo.MaxConnectionsPerAddress) : null;
        for (var i = 0; i < settings.Reactors; i++)
        {
            var loop = EventLoop.Create(settings.Poller);
            var service = new EchoService(loop, new EchoContext(settings.Echo, logger, gate, addresses, settings.Reactors));
            services.Add(service);
            loop.HandlerFailed += (token, exception) => EchoLog.HandlerFailed(logger, exception, token.Value);
        }
    }

    private static void DisposeReactors(List<EchoService> services)
    {
        foreach (var service in services)
        {
            service.Loop.Dispose();
            service.Context.Dispose();
        }
    }

    private static void ReportListenFailure(string name, ListenFailure e)
    {
        var address = e.Transport == ListenTransport.Udp ? $"UDP {e.Address}" : e.Address.ToString();
        Console.Error.WriteLine($"{name}: cannot listen on {address}: {Describe(e.Errno, e.Transport)}");
    }

    /// <summary>Runs every loop until the drain has ended, then logs the totals.</summary>
    private static int RunLoops(List<EchoService> services, ServerSettings settings, ILogger logger, ServerSockets sockets)
    {
        var first = services[0].Loop;
        using var metrics = new EchoMetrics(services);
        using var notifier = OpenNotifier(logger);
        using var signals = new DrainSignals(services, notifier, logger, settings.Echo.ShutdownTimeout);
        ScheduleStats(first, metrics, settings.StatsInterval, logger);
        Announce(sockets.Announcements, first.BackendName);
        LogNotifying(logger, notifier);

        // Before the reactor threads start: a loop's timers are added on its own thread, or before it runs.
        var heartbeats = notifier?.WatchdogInterval is { } pingEvery ? StartHeartbeats(services, pingEvery) : null;
        var threads = StartReactorThreads(services);
        NotifyReady(first, notifier, () => ServerTotals.Status(services, sockets.Listeners.Count), heartbeats);
        RunFirstLoopAndJoin(first, threads);
        ServerTotals.LogStopped(logger, services, sockets.Listeners, notifier);
        return ExitCodes.Success;
    }

    /// <summary>The service manager's notifier (NOTIFY_SOCKET), or null; a socket set but unusable is logged.</summary>
    private static ServiceNotifier? OpenNotifier(ILogger logger)
    {
        if (!HostPlatform.HasServiceManager)
        {
            return null;
        }

        var notifier = ServiceNotifier.FromEnvironment(Environment.GetEnvironmentVariable, Environment.ProcessId, out var notifyProblem);
        if (notifyProblem is not null)
        {
            HostLog.NotifyUnusable(logger, notifyProblem);
        }

        return notifier;
    }

    /// <summary>--stats-interval: a one-line summary on the first loop's timer.</summary>
    private static void ScheduleStats(EventLoop loop, EchoMetrics metrics, TimeSpan? statsInterval, ILogger logger)
    {
        if (statsInterval is not { } interval)
        {
            return;
        }

        loop.AddTimer(interval, _ =>
        {
            var summary = metrics.Summary();
            EchoLog.Stats(logger, summary);
            return interval;
        });
    }

    private static void Announce(List<Action<string>> announcements, string poller)
    {
        foreach (var announce in announcements)
        {
            announce(poller);
        }
    }

    private static void LogNotifying(ILogger logger, ServiceNotifier? notifier)
    {
        if (notifier is not null)
        {
            var watchdog = notifier.WatchdogInterval is { } every ? $", watchdog ping every {every.TotalMilliseconds:F0} ms" : string.Empty;
            HostLog.Notifying(logger, notifier.Address, watchdog);
        }
    }

    /// <summary>A thread for every loop but the first, which runs on the calling thread.</summary>
    private static List<Thread> StartReactorThreads(List<EchoService> services) => services.Skip(1).Select((service, i) =>
    {
        var thread = new Thread(() => service.Loop.Run()) { Name = $"reactor-{i + 1}", IsBackground = true };
        thread.Start();
        return thread;
    }).ToList();

    /// <summary>Every socket is listening (the kernel queues clients until the loops accept them): READY=1, then the service manager's timers.</summary>
    private static void NotifyReady(EventLoop loop, ServiceNotifier? notifier, Func<string> status, LoopHeartbeats? heartbeats)
    {
        if (notifier is not null)
        {
            notifier.Ready(status());
            StartNotifierTimers(loop, notifier, status, heartbeats);
        }
    }

    private static void RunFirstLoopAndJoin(EventLoop first, List<Thread> threads)
    {
        first.Run();
        foreach (var thread in threads)
        {
            thread.Join();
        }
    }

    /// <summary>A heartbeat timer on every loop; only a loop that stopped turning makes the pinging loop skip its ping.</summary>
    private static LoopHeartbeats StartHeartbeats(List<EchoService> services, TimeSpan pingEvery)
    {
        var heartbeats = new LoopHeartbeats(services.Count, pingEvery);
        for (var i = 0; i < services.Count; i++)
        {
            var index = i;
            services[i].Loop.AddTimer(TimeSpan.Zero, _ =>
            {
                heartbeats.Beat(index);
                return heartbeats.BeatEvery;
            });
        }

        return heartbeats;
    }

    /// <summary>
    /// STATUS= refreshes and WATCHDOG=1 pings, on timers of the first loop; a ping goes out only if every loop beat
    /// since the previous one (<see cref="LoopHeartbeats"/>).
    /// </summary>
    private static void StartNotifierTimers(EventLoop loop, ServiceNotifier notifier, Func<string> status, LoopHeartbeats? heartbeats)
    {
        loop.AddTimer(StatusInterval, _ =>
        {
            notifier.Status(status());
            return StatusInterval;
        });
        if (heartbeats is not null) // exactly when WATCHDOG_USEC asks for pings
        {
            notifier.Watchdog();
            loop.AddTimer(heartbeats.PingEvery, _ =>
            {
                if (heartbeats.AllBeatSinceLastLook())
                {
                    notifier.Watchdog();
                }

                return heartbeats.PingEvery;
            });
        }
    }

    private static string Describe(Errno errno, ListenTransport transport)
    {
        if (errno.IsAddressInUse)
        {
            return transport == ListenTransport.Unix
                ? "address already in use (another process is listening on that socket)"
                : "address already in use (another process is listening on that port)";
        }

        if (errno.IsAlreadyExists && transport == ListenTransport.Unix)
        {
            return "the path exists and is not a socket (it was left alone)";
        }

        if (errno.IsPermissionDenied)
        {
            return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        }

        return errno.Message.ToLowerInvariant();
    }
}
