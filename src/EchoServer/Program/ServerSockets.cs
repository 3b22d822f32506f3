using System.Net;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using EchoServer.Systemd;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>
/// Opens the listening sockets of one run and hands each to a reactor: the sockets systemd passed in, then every
/// --bind address. Keeps the listeners by address for the totals at exit, and the "listening on …" lines to log
/// once every socket is open (a failure on a later address leaves none of them logged).
/// </summary>
internal sealed class ServerSockets(List<EchoService> services, ServerSettings settings, ILogger logger)
{
    private int _nextReactor;

    /// <summary>Every listener with the address it reports in the per-listener totals.</summary>
    public List<(string Address, EchoListener Listener)> Listeners { get; } = [];

    /// <summary>The "listening on …" lines, in order; each takes the poller's name.</summary>
    public List<Action<string>> Announcements { get; } = [];

    /// <summary>Adopts the inherited sockets and binds the --bind addresses; throws <see cref="ListenFailure"/> on the first that fails.</summary>
    public void OpenAll()
    {
        foreach (var socket in settings.Inherited)
        {
            Adopt(socket);
        }

        foreach (var bind in settings.Binds)
        {
            if (bind is ListenAddress.Unix unix)
            {
                BindUnix(unix);
            }
            else
            {
                BindTcp((ListenAddress.Ip)bind);
            }
        }
    }

    // A socket that is one kernel queue (inherited, or unix) is served by one reactor; they take turns.
    private EchoService NextService() => services[_nextReactor++ % services.Count];

    private void Adopt(InheritedSocket socket)
    {
        var source = Source.FromFd(socket.Description.Fd);
        var address = socket.Description.Address;
        if (socket.IsStream)
        {
            IStreamListener listener = socket.Description.IsTcpListener ? TcpListener.Adopt(source) : UnixListener.Adopt(source);
            Listeners.Add((address, NextService().AddListener(listener)));
            Announcements.Add(poller => HostLog.ListeningInherited(logger, address, poller, socket.Label));
        }
        else
        {
            services[0].AddUdp(UdpSocket.Adopt(source));
            Announcements.Add(_ => HostLog.ListeningUdpInherited(logger, address, socket.Label));
        }
    }

    private void BindUnix(ListenAddress.Unix bind)
    {
        var unixListener = ListenFailure.Wrap(bind, ListenTransport.Unix, () => UnixListener.Bind(bind.Path, settings.Backlog));
        var unixAddress = bind.ToString();
        Listeners.Add((unixAddress, NextService().AddListener(unixListener)));
        Announcements.Add(poller => EchoLog.Listening(logger, unixAddress, poller, 1));
    }

    /// <summary>
    /// Several reactors: each has its own listener on the same port (SO_REUSEPORT), so the kernel spreads
    /// connections evenly instead of waking every loop for each (libuv#747). With --udp, UDP joins the first one.
    /// </summary>
    private void BindTcp(ListenAddress.Ip bind)
    {
        var endPoint = bind.EndPoint;
        for (var i = 0; i < services.Count; i++)
        {
            var requested = endPoint;
            var listener = ListenFailure.Wrap(bind, ListenTransport.Tcp, () => TcpListener.Bind(requested, settings.Backlog, reusePort: services.Count > 1));
            if (settings.Udp && i == 0)
            {
                // The TCP listener's real port, so --bind host:0 gives TCP and UDP the same port.
                var udp = services[0].AddUdp(ListenFailure.Wrap(bind, ListenTransport.Udp, () => BindUdpBeside(ref listener, requested)));
                var udpAddress = udp.Socket.LocalEndPoint.ToString();
                Announcements.Add(_ => EchoLog.ListeningUdp(logger, udpAddress));
            }

            endPoint = listener.LocalEndPoint; // port 0: the others take the port the first one got
            Listeners.Add((endPoint.ToString(), services[i].AddListener(listener)));
        }

        var tcpAddress = endPoint.ToString();
        var reactors = services.Count;
        Announcements.Insert(Announcements.Count - (settings.Udp ? 1 : 0), poller => EchoLog.Listening(logger, tcpAddress, poller, reactors));
    }

    /// <summary>
    /// Binds UDP on the TCP listener's port. With port 0 the kernel chose a port free for TCP only; if UDP
    /// has it, another TCP port is taken (a few times) rather than failing a request for "any port".
    /// </summary>
    private UdpSocket BindUdpBeside(ref TcpListener listener, IPEndPoint requested)
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
}
