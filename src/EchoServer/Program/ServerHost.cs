using System.Net;
using System.Runtime.InteropServices;
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

    public static int Run(ServerSettings settings, ILogger logger, string name)
    {
        // One descriptor per client: the usual soft limit of 1024 would cap the server near a thousand.
        if (OpenFileLimit.TryRaiseToHardLimit(out var before, out var after))
        {
            EchoLog.OpenFileLimitRaised(logger, before, after);
        }

        var services = new List<EchoService>();
        var listeners = new List<(string Address, EchoListener Listener)>();
        var announcements = new List<Action<string>>(); // "listening on …" lines, logged once every socket is open
        try
        {
            var gate = new ConnectionGate(settings.Echo.MaxConnections);
            for (var i = 0; i < settings.Reactors; i++)
            {
                var loop = EventLoop.Create(settings.Poller);
                var service = new EchoService(loop, new EchoContext(settings.Echo, logger, gate));
                services.Add(service);
                loop.HandlerFailed += (token, exception) => EchoLog.HandlerFailed(logger, exception, token.Value);
            }

            // A socket that is one kernel queue (inherited, or unix) is served by one reactor; they take turns.
            var nextReactor = 0;
            EchoService NextService() => services[nextReactor++ % services.Count];
            foreach (var socket in settings.Inherited)
            {
                var source = Source.FromFd(socket.Description.Fd);
                var address = socket.Description.Address;
                if (socket.IsStream)
                {
                    IStreamListener listener = socket.Description.IsTcpListener ? TcpListener.Adopt(source) : UnixListener.Adopt(source);
                    listeners.Add((address, NextService().AddListener(listener)));
                    announcements.Add(poller => HostLog.ListeningInherited(logger, address, poller, socket.Label));
                }
                else
                {
                    services[0].AddUdp(UdpSocket.Adopt(source));
                    announcements.Add(_ => HostLog.ListeningUdpInherited(logger, address, socket.Label));
                }
            }

            foreach (var bind in settings.Binds)
            {
                if (bind is ListenAddress.Unix unix)
                {
                    var unixListener = ListenFailure.Wrap(bind, ListenTransport.Unix, () => UnixListener.Bind(unix.Path, settings.Backlog));
                    var unixAddress = bind.ToString();
                    listeners.Add((unixAddress, NextService().AddListener(unixListener)));
                    announcements.Add(poller => EchoLog.Listening(logger, unixAddress, poller, 1));
                    continue;
                }

                // Several reactors: each has its own listener on the same port (SO_REUSEPORT), so the kernel
                // spreads connections evenly instead of waking every loop for each (libuv#747).
                var endPoint = ((ListenAddress.Ip)bind).EndPoint;
                for (var i = 0; i < services.Count; i++)
                {
                    var requested = endPoint;
                    var listener = ListenFailure.Wrap(bind, ListenTransport.Tcp, () => TcpListener.Bind(requested, settings.Backlog, reusePort: services.Count > 1));
                    if (settings.Udp && i == 0)
                    {
                        // The TCP listener's real port, so --bind host:0 gives TCP and UDP the same port.
                        var udp = services[0].AddUdp(ListenFailure.Wrap(bind, ListenTransport.Udp, () => BindUdpBeside(ref listener, requested, settings)));
                        var udpAddress = udp.Socket.LocalEndPoint.ToString();
                        announcements.Add(_ => EchoLog.ListeningUdp(logger, udpAddress));
                    }

                    endPoint = listener.LocalEndPoint; // port 0: the others take the port the first one got
                    listeners.Add((endPoint.ToString(), services[i].AddListener(listener)));
                }

                var tcpAddress = endPoint.ToString();
                var reactors = services.Count;
                announcements.Insert(announcements.Count - (settings.Udp ? 1 : 0), poller => EchoLog.Listening(logger, tcpAddress, poller, reactors));
            }

            return RunLoops(services, settings, logger, announcements, listeners);
        }
        catch (ListenFailure e)
        {
            var address = e.Transport == ListenTransport.Udp ? $"UDP {e.Address}" : e.Address.ToString();
            Console.Error.WriteLine($"{name}: cannot listen on {address}: {Describe(e.Errno, e.Transport)}");
            return ExitCodes.Failure;
        }
        catch (Exception e) when (e is SyscallException or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"{name}: cannot start: {e.Message}");
            return ExitCodes.Failure;
        }
        finally
        {
            foreach (var service in services)
            {
                service.Loop.Dispose();
                service.Context.Dispose();
            }
        }
    }

    /// <summary>
    /// Binds UDP on the TCP listener's port. With port 0 the kernel chose a port free for TCP only; if UDP
    /// has it, another TCP port is taken (a few times) rather than failing a request for "any port".
    /// </summary>
    private static UdpSocket BindUdpBeside(ref TcpListener listener, IPEndPoint requested, ServerSettings settings)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return UdpSocket.Bind(listener.LocalEndPoint);
            }
            catch (SyscallException e) when (e.Errno.IsAddressInUse && requested.Port == 0 && attempt < 8)
            {
                listener.Dispose();
                listener = TcpListener.Bind(requested, settings.Backlog, reusePort: settings.Reactors > 1);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        }
    }

    private static int RunLoops(List<EchoService> services, ServerSettings settings, ILogger logger,
        List<Action<string>> announcements, List<(string Address, EchoListener Listener)> listeners)
    {
        using var metrics = new EchoMetrics(services);
        using var notifier = ServiceNotifier.FromEnvironment(Environment.GetEnvironmentVariable, Environment.ProcessId, out var notifyProblem);
        if (notifyProblem is not null)
        {
            HostLog.NotifyUnusable(logger, notifyProblem);
        }

        int Open() => services.Sum(s => s.Context.Counters.Active);
        var signals = 0;
        void OnSignal(PosixSignalContext signal)
        {
            // First signal: drain in order. A second one: let the default action end the process at once.
            if (Interlocked.Increment(ref signals) > 1)
            {
                signal.Cancel = false;
                return;
            }

            signal.Cancel = true;
            var open = Open();
            notifier?.Stopping($"draining: {open} connection(s) left");
            EchoLog.Draining(logger, open, (long)settings.Echo.ShutdownTimeout.TotalMilliseconds);
            foreach (var service in services)
            {
                service.Loop.Post(_ => service.BeginDrain());
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        if (settings.StatsInterval is { } interval)
        {
            services[0].Loop.AddTimer(interval, _ =>
            {
                var summary = metrics.Summary();
                EchoLog.Stats(logger, summary);
                return interval;
            });
        }

        var poller = services[0].Loop.BackendName;
        foreach (var announce in announcements)
        {
            announce(poller);
        }

        string Status() => services[0].Context.Draining
            ? $"draining: {Open()} connection(s) left"
            : $"{Open()} connection(s) open, {services.Sum(s => s.Context.Counters.Accepted)} served; {listeners.Count} listener(s)";
        if (notifier is not null)
        {
            var watchdog = notifier.WatchdogInterval is { } every ? $", watchdog ping every {every.TotalMilliseconds:F0} ms" : string.Empty;
            HostLog.Notifying(logger, notifier.Address, watchdog);
        }

        // Before the reactor threads start: a loop's timers are added on its own thread, or before it runs.
        var heartbeats = notifier?.WatchdogInterval is { } pingEvery ? StartHeartbeats(services, pingEvery) : null;

        var threads = services.Skip(1).Select((service, i) =>
        {
            var thread = new Thread(() => service.Loop.Run()) { Name = $"reactor-{i + 1}", IsBackground = true };
            thread.Start();
            return thread;
        }).ToList();

        // Every socket is listening (the kernel queues clients until the loops accept them): ready.
        if (notifier is not null)
        {
            notifier.Ready(Status());
            StartNotifierTimers(services[0].Loop, notifier, Status, heartbeats);
        }

        services[0].Loop.Run();
        foreach (var thread in threads)
        {
            thread.Join();
        }

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

        return ExitCodes.Success;
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
