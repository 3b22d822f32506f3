using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// The parts of a connection only some servers need: the idle timer (with --idle-timeout), the peer's address
/// for log scopes (at Debug level) and its address group (with --max-connections-per-address). Kept apart so that
/// a connection without them costs one null reference instead of these fields (docs/design.md, "Memory per idle connection").
/// </summary>
internal sealed class ConnectionExtras(Token token, string? peer)
{
    /// <summary>The connection's token, for the idle timer's callback (event handlers are given theirs).</summary>
    public Token Token { get; } = token;

    /// <summary>The client's address as text, kept only when Debug logging is on.</summary>
    public string? Peer { get; } = peer;

    /// <summary>The client's address group, counted in by --max-connections-per-address; counted out at the close.</summary>
    public AddressGroup? Group { get; init; }

    /// <summary>The idle check's timer, which re-arms itself for the time left until the connection has been idle too long.</summary>
    public TimerId IdleTimer { get; set; }
}
