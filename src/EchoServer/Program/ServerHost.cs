using System.Net;
using System.Runtime.InteropServices;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>Wires a listener into an event loop, runs it until SIGINT/SIGTERM, and shuts down in order.</summary>
internal static class ServerHost
{
    public static int Run(IPEndPoint endPoint, EchoOptions options, ILogger logger, string name)
    {
        EventLoop loop;
        TcpListener listener;
        try
        {
            loop = new EventLoop(new EpollPoller());
        }
        catch (Exception e) when (e is SyscallException or PlatformNotSupportedException)
        {
            Console.Error.WriteLine($"{name}: cannot create the event loop: {e.Message}");
            return ExitCodes.Failure;
        }

        using (loop)
        {
            try
            {
                listener = TcpListener.Bind(endPoint);
            }
            catch (SyscallException e)
            {
                Console.Error.WriteLine($"{name}: cannot listen on {Format(endPoint)}: {Describe(e.Errno)}");
                return ExitCodes.Failure;
            }

            var context = new EchoContext(options, logger);
            var acceptor = new EchoListener(listener, context);
            acceptor.Token = loop.Register(listener.Fd, Interest.Readable, acceptor);
            loop.HandlerFailed += (token, exception) => EchoLog.HandlerFailed(logger, exception, token.Value);

            var signals = 0;
            void OnSignal(PosixSignalContext signal)
            {
                // First signal: stop in order. A second one while stopping: let the default action end the process.
                signal.Cancel = Interlocked.Increment(ref signals) == 1;
                loop.Stop();
            }

            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

            EchoLog.Listening(logger, listener.LocalEndPoint, loop.Poller.Name);
            loop.Run();
            EchoLog.Stopping(logger, context.ActiveConnections);
            loop.Dispose();
            EchoLog.Stopped(logger, context.AcceptedConnections, context.BytesEchoed);
        }

        return ExitCodes.Success;
    }

    private static string Format(IPEndPoint endPoint) => endPoint.ToString();

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
