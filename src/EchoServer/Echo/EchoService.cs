using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// The echo service on one event loop: its listener, its connections, and the drain that ends them.
/// All methods run on the loop thread; other threads reach it through <see cref="EventLoop.Post"/>.
/// </summary>
internal sealed class EchoService(EventLoop eventLoop, EchoContext context)
{
    private const int DrainSweepMs = 50;

    private readonly List<EchoListener> _listeners = [];
    private readonly List<UdpEchoHandler> _udp = [];
    private TimerId _drainDeadline;

    public EventLoop Loop => eventLoop;

    public EchoContext Context => context;

    /// <summary>The UDP echo handlers this loop owns (with --udp or inherited UDP sockets; all on the first loop).</summary>
    public IReadOnlyList<UdpEchoHandler> Udp => _udp;

    /// <summary>Starts accepting on <paramref name="listener"/> (TCP or unix-domain), which the service then owns.</summary>
    /// <returns>The acceptor, whose <see cref="EchoListener.Accepted"/> counts this listener's connections.</returns>
    public EchoListener AddListener(IStreamListener listener)
    {
        var acceptor = new EchoListener(listener, context);
        acceptor.Token = eventLoop.Register(listener.Source, Interest.Readable, acceptor);
        _listeners.Add(acceptor);
        return acceptor;
    }

    /// <summary>Starts echoing datagrams on <paramref name="socket"/>, which the service then owns.</summary>
    public UdpEchoHandler AddUdp(UdpSocket socket)
    {
        var udp = new UdpEchoHandler(socket, context, new UdpRateLimiter());
        udp.Token = eventLoop.Register(socket.Source, Interest.Readable, udp);
        _udp.Add(udp);
        return udp;
    }

    /// <summary>
    /// First step of a graceful stop: close the listeners, then close each connection once it owes
    /// nothing and has gone quiet, and whatever is left after <paramref name="timeout"/>. The loop stops when
    /// the last connection is gone.
    /// </summary>
    public void BeginDrain(TimeSpan timeout)
    {
        if (context.Draining)
        {
            return;
        }

        context.Draining = true;
        foreach (var listener in _listeners)
        {
            listener.Close(eventLoop);
        }

        _listeners.Clear();
        foreach (var udp in _udp)
        {
            // Datagrams have no connection to finish: stop answering at once.
            eventLoop.Deregister(udp.Token);
            udp.Dispose();
        }
        if (context.Counters.Active == 0)
        {
            eventLoop.Stop();
            return;
        }

        _drainDeadline = eventLoop.AddTimer(timeout, _ =>
        {
            CloseAll();
            return null;
        });
        if (Sweep(eventLoop) is { } next)
        {
            eventLoop.AddTimer(next, Sweep);
        }
    }

    /// <summary>
    /// The drain's one decision, every <see cref="DrainSweepMs"/>: close each connection that owes nothing and has been
    /// quiet for the quiet period; stop the loop once none is left (connections that finish by themselves are counted here too).
    /// </summary>
    /// <returns>The delay until the next sweep, or null once the loop is stopped.</returns>
    private TimeSpan? Sweep(EventLoop loop)
    {
        var quietMs = (long)context.Options.DrainQuietPeriod.TotalMilliseconds;
        foreach (var (token, connection) in loop.Handlers<EchoConnection>())
        {
            if (connection.OwesNothing && connection.QuietMs(loop.NowMs) >= quietMs)
            {
                connection.Close(loop, token, CloseReason.Shutdown);
            }
        }

        if (context.Counters.Active > 0)
        {
            return TimeSpan.FromMilliseconds(DrainSweepMs);
        }

        loop.CancelTimer(_drainDeadline);
        loop.Stop();
        return null;
    }

    private void CloseAll()
    {
        EchoLog.DrainTimedOut(context.Logger, context.Counters.Active);
        foreach (var (token, connection) in eventLoop.Handlers<EchoConnection>())
        {
            connection.Close(eventLoop, token, CloseReason.Shutdown);
        }

        eventLoop.Stop();
    }
}
