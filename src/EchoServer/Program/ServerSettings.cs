using System.Net;
using EchoServer.Echo;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Program;

/// <summary>Everything the command line decides about one server run.</summary>
internal sealed record ServerSettings
{
    /// <summary>The TCP (and, with <see cref="Udp"/>, UDP) address; null when <see cref="UnixPath"/> is set.</summary>
    public IPEndPoint? EndPoint { get; init; }

    /// <summary>A unix-domain socket path to listen on instead of an IP address.</summary>
    public string? UnixPath { get; init; }

    /// <summary>Also echo UDP datagrams on the TCP address and port (RFC 862's UDP service).</summary>
    public bool Udp { get; init; }

    /// <summary>What the logs and errors call the listening address.</summary>
    public string Address => UnixPath is { } path ? $"unix:{path}" : EndPoint!.ToString();

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
