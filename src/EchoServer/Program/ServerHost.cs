using System.Net;
using System.Runtime.InteropServices;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// Builds the event loops and their listeners, runs them until SIGINT/SIGTERM, drains, and shuts
/// down in order. One loop runs on the calling thread; with --reactors N the others get a thread each.
/// </summary>
internal static class ServerHost
{
    public static int Run(ServerSettings settings, ILogger logger, string name)
    {
        // One descriptor per client: the usual soft limit of 1024 would cap the server near a thousand.
        if (OpenFileLimit.TryRaiseToHardLimit(out var before, out var after))
        {
            EchoLog.OpenFileLimitRaised(logger, before, after);
        }

        var services = new List<EchoService>();
        var binding = string.Empty; // "UDP " while the UDP socket is being bound, for the error message
        try
        {
            var endPoint = settings.EndPoint;
            var gate = new ConnectionGate(settings.Echo.MaxConnections);
            for (var i = 0; i < settings.Reactors; i++)
            {
                var loop = new EventLoop(PollerFactory.Create(settings.Poller));
                var service = new EchoService(loop, new EchoContext(settings.Echo, logger, gate));
                services.Add(service);
                loop.HandlerFailed += (token, exception) => EchoLog.HandlerFailed(logger, exception, token.Value);
                if (settings.UnixPath is { } path)
                {
                    service.AddListener(UnixListener.Bind(path, settings.Backlog));
                    continue;
                }

                // Several reactors: each has its own listener on the same port (SO_REUSEPORT), so the kernel
                // spreads connections evenly instead of waking every loop for each (libuv#747).
                var listener = TcpListener.Bind(endPoint!, settings.Backlog, reusePort: settings.Reactors > 1);
                if (settings.Udp && i == 0)
                {
                    // The TCP listener's real port, so --bind host:0 gives TCP and UDP the same port.
                    binding = "UDP ";
                    var udp = BindUdpBeside(ref listener, endPoint!, settings);
                    binding = string.Empty;
                    service.AddUdp(udp);
                }

                endPoint = listener.LocalEndPoint; // port 0: the others take the port the first one got
                service.AddListener(listener);
            }

            return RunLoops(services, settings, logger, settings.UnixPath is { } unix ? $"unix:{unix}" : endPoint!.ToString());
        }
        catch (SyscallException e) when (e.Call.StartsWith("bind", StringComparison.Ordinal) || e.Call is "listen" or "socket"
            || e.Call.StartsWith("setsockopt(SO_REUSE", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"{name}: cannot listen on {binding}{settings.Address}: {Describe(e.Errno)}");
            return ExitCodes.Failure;
        }
        catch (ArgumentException e) when (settings.UnixPath is not null)
        {
            // Empty, NUL or too long for sockaddr_un: a command-line mistake.
            var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
            Console.Error.WriteLine($"{name}: invalid --bind value '{settings.Address}': {message}");
            return ExitCodes.Usage;
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

    private static int RunLoops(List<EchoService> services, ServerSettings settings, ILogger logger, string address)
    {
        using var metrics = new EchoMetrics(services);
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
            EchoLog.Draining(logger, services[0].Context.Gate.Open, (long)settings.Echo.ShutdownTimeout.TotalMilliseconds);
            foreach (var service in services)
            {
                service.Loop.Post(_ => service.BeginDrain());
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        if (settings.StatsInterval is { } interval)
        {
            void Report(EventLoop loop)
            {
                var summary = metrics.Summary();
                EchoLog.Stats(logger, summary);
                loop.AddTimer(interval, Report);
            }

            services[0].Loop.AddTimer(interval, Report);
        }

        EchoLog.Listening(logger, address, services[0].Loop.Poller.Name, services.Count);
        if (services[0].Udp is { } udp)
        {
            var udpAddress = udp.Socket.LocalEndPoint.ToString();
            EchoLog.ListeningUdp(logger, udpAddress);
        }
        var threads = services.Skip(1).Select((service, i) =>
        {
            var thread = new Thread(() => service.Loop.Run()) { Name = $"reactor-{i + 1}", IsBackground = true };
            thread.Start();
            return thread;
        }).ToList();
        services[0].Loop.Run();
        foreach (var thread in threads)
        {
            thread.Join();
        }

        var accepted = services.Sum(s => s.Context.Counters.Accepted);
        var echoed = services.Sum(s => s.Context.Counters.BytesSent);
        EchoLog.Stopped(logger, accepted, echoed);
        if (services[0].Udp is { } stoppedUdp)
        {
            EchoLog.UdpStopped(logger, stoppedUdp.DatagramsEchoed, stoppedUdp.DroppedForbiddenPort, stoppedUdp.DroppedRateLimited, stoppedUdp.DroppedSendFailed);
        }
        return ExitCodes.Success;
    }

    private static string Describe(Errno errno)
    {
        if (errno.IsAddressInUse)
        {
            return "address already in use (another process is listening on that port)";
        }

        if (errno.IsPermissionDenied)
        {
            return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        }

        return errno.Message.ToLowerInvariant();
    }
}
