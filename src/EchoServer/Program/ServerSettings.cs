using EchoServer.Echo;
using EchoServer.Reactor.Pollers;
using EchoServer.Systemd;

namespace EchoServer.Program;

/// <summary>Everything the command line decides about one server run.</summary>
internal sealed record ServerSettings
{
    /// <summary>The --bind addresses, in order: each TCP one gets a listener per reactor, each unix one a listener on one reactor.</summary>
    public IReadOnlyList<ListenAddress> Binds { get; init; } = [];

    /// <summary>Sockets passed in by systemd (socket activation), already checked.</summary>
    public IReadOnlyList<InheritedSocket> Inherited { get; init; } = [];

    /// <summary>Also echo UDP datagrams on each TCP address and port (RFC 862's UDP service).</summary>
    public bool Udp { get; init; }

    public required EchoOptions Echo { get; init; }

    /// <summary>The readiness backend (auto = the OS's own).</summary>
    public PollerKind Poller { get; init; } = PollerKind.Auto;

    /// <summary>Independent single-threaded event loops, each with its own SO_REUSEPORT listener.</summary>
    public int Reactors { get; init; } = 1;

    /// <summary>listen(2) backlog; -1 = SOMAXCONN (the kernel caps it at net.core.somaxconn).</summary>
    public int Backlog { get; init; } = -1;

    /// <summary>Seconds between one-line stats at Information level; null = off.</summary>
    public TimeSpan? StatsInterval { get; init; }
}
