using System.Globalization;
using System.Net.Sockets;
using EchoServer.Reactor.Net;

namespace EchoServer.Systemd;

/// <summary>
/// The receiving side of systemd's socket activation (sd_listen_fds(3)): the sockets a service manager
/// passed in, starting at fd 3, announced by <c>LISTEN_PID</c> (which must be this process),
/// <c>LISTEN_FDS</c> (how many) and <c>LISTEN_FDNAMES</c> (their names, colon-separated).
/// </summary>
/// <remarks>
/// As <c>sd_listen_fds(unset_environment=1)</c>: the three variables are removed once read, whatever they
/// held, so a child process cannot mistake them for its own. Every descriptor is checked before any is
/// used, so a wrong one stops the server before it serves anything. See docs/design.md, "Running under systemd".
/// </remarks>
internal static class SocketActivation
{
    /// <summary>SD_LISTEN_FDS_START: the first passed descriptor.</summary>
    public const int FirstFd = 3;

    private const string ListenPid = "LISTEN_PID";
    private const string ListenFds = "LISTEN_FDS";
    private const string ListenFdNames = "LISTEN_FDNAMES";

    /// <summary>The process environment. .NET keeps its own copy on Unix: removing a variable there is what
    /// child processes started from .NET inherit.</summary>
    public static IEnvironment ProcessEnvironment { get; } = new ProcessEnvironmentVariables();

    /// <summary>Reads and removes LISTEN_*, then describes and checks each passed descriptor.</summary>
    /// <param name="environment">Where the variables are read and removed.</param>
    /// <param name="pid">This process's id, compared with LISTEN_PID.</param>
    /// <param name="sockets">The passed sockets, in order; empty when none were passed to this process.</param>
    /// <param name="error">One line saying what is wrong, when the result is false.</param>
    /// <returns>False if the variables are malformed or a descriptor is not a socket this server can serve.</returns>
    public static bool TryTake(IEnvironment environment, int pid, out IReadOnlyList<InheritedSocket> sockets, out string? error)
    {
        sockets = [];
        error = null;
        var pidText = environment.Get(ListenPid);
        var fdsText = environment.Get(ListenFds);
        var namesText = environment.Get(ListenFdNames);
        environment.Remove(ListenPid);
        environment.Remove(ListenFds);
        environment.Remove(ListenFdNames);
        if (pidText is null || fdsText is null)
        {
            return true;
        }

        if (!int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var listenPid) || listenPid <= 0)
        {
            error = $"socket activation: LISTEN_PID='{pidText}' is not a process id";
            return false;
        }

        if (listenPid != pid)
        {
            return true; // Meant for another process (a parent that did not clear them): not ours to use.
        }

        if (!int.TryParse(fdsText, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > 65536)
        {
            error = $"socket activation: LISTEN_FDS='{fdsText}' is not a number of descriptors";
            return false;
        }

        var names = namesText is null ? [] : namesText.Split(':');
        if (namesText is not null && names.Length != count)
        {
            error = $"socket activation: LISTEN_FDNAMES names {names.Length} descriptor(s) but LISTEN_FDS says {count}";
            return false;
        }

        var found = new List<InheritedSocket>(count);
        for (var i = 0; i < count; i++)
        {
            var socket = new InheritedSocket(SocketDescription.Describe(FirstFd + i), names.Length > 0 ? names[i] : string.Empty);
            if (Problem(socket.Description) is { } problem)
            {
                error = $"socket activation: inherited {socket.Label} {problem}";
                return false;
            }

            found.Add(socket);
        }

        sockets = found;
        return true;
    }

    /// <summary>Why this server cannot use the descriptor, or null if it can.</summary>
    internal static string? Problem(SocketDescription d) => d switch
    {
        { IsOpen: false } => "is not open",
        { IsSocket: false } => "is not a socket",
        { IsTcpListener: true } or { IsUnixListener: true } or { IsBoundUdp: true } => null,
        { Family: AddressFamily.Unknown } => "is a socket of another family; expected IPv4, IPv6 or unix",
        { Type: SocketType.Stream, IsListening: false } => $"is a stream socket on {d.Address} that is not listening",
        { Family: AddressFamily.Unix, Type: SocketType.Dgram } => $"is a unix datagram socket ({d.Address}); datagrams are echoed over UDP only",
        { Type: SocketType.Dgram, Protocol: ProtocolType.Udp or ProtocolType.Unknown } => "is a UDP socket not bound to a port",
        { Type: SocketType.Stream or SocketType.Dgram } => $"is an IP socket of protocol {(int)d.Protocol}; expected TCP or UDP",
        _ => $"is a {d.Type.ToString().ToLowerInvariant()} socket; expected a listening stream socket or a bound UDP socket",
    };

    /// <summary>Read and remove environment variables (the process's own, or a test's dictionary).</summary>
    internal interface IEnvironment
    {
        string? Get(string name);

        void Remove(string name);
    }

    private sealed class ProcessEnvironmentVariables : IEnvironment
    {
        public string? Get(string name) => Environment.GetEnvironmentVariable(name);

        public void Remove(string name) => Environment.SetEnvironmentVariable(name, null);
    }
}
