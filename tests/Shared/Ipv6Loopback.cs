using System.Net;
using System.Net.Sockets;

namespace EchoServer.TestSupport;

/// <summary>Whether this machine (or Wine on it) can bind the IPv6 loopback, [::1]; a test that needs it skips with the reason.</summary>
internal static class Ipv6Loopback
{
    /// <summary>Why [::1] cannot be used here, or null when it can (asked once, by binding a UDP socket there).</summary>
    public static string? SkipReason { get; } = Probe();

    private static string? Probe()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return null;
        }
        catch (SocketException e)
        {
            return $"no IPv6 loopback here: binding [::1] failed ({e.SocketErrorCode}: {e.Message})";
        }
    }
}
