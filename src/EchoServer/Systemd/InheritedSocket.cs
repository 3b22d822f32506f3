using EchoServer.Reactor.Net;

namespace EchoServer.Systemd;

/// <summary>One socket passed in by socket activation: what the kernel says it is, and its LISTEN_FDNAMES name.</summary>
/// <param name="Description">Family, type, address; checked to be a listening stream socket or a bound UDP socket.</param>
/// <param name="Name">Its name from LISTEN_FDNAMES (systemd's FileDescriptorName=, by default the socket unit's name), or empty.</param>
internal sealed record InheritedSocket(SocketDescription Description, string Name)
{
    /// <summary>A listening TCP or unix stream socket, served like a --bind listener.</summary>
    public bool IsStream => Description.IsTcpListener || Description.IsUnixListener;

    /// <summary>How logs name it: <c>fd 3 "echoserver.socket"</c>.</summary>
    public string Label => Name.Length == 0 ? $"fd {Description.Fd}" : $"fd {Description.Fd} \"{Name}\"";
}
