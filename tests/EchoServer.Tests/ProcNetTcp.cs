using System.Globalization;

namespace EchoServer.Tests;

/// <summary>
/// The kernel's view of one IPv4 loopback TCP socket, from /proc/net/tcp (Linux): for tests that must know where
/// bytes and a FIN are (still in the sender's queue, or arrived), which no socket API of the peer tells.
/// </summary>
internal static class ProcNetTcp
{
    /// <summary>TCP_CLOSE_WAIT: the socket has received its peer's FIN.</summary>
    public const string CloseWait = "08";

    /// <summary>The socket bound to 127.0.0.1:<paramref name="localPort"/> and connected to 127.0.0.1:<paramref name="remotePort"/>.</summary>
    /// <returns>Its state (two hex digits, as the kernel writes it) and its send queue (bytes not yet acknowledged), or null if there is none.</returns>
    public static (string State, long SendQueue)? Find(int localPort, int remotePort)
    {
        var local = $"0100007F:{localPort:X4}";
        var remote = $"0100007F:{remotePort:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4 && fields[1] == local && fields[2] == remote)
            {
                return (fields[3], long.Parse(fields[4].AsSpan(0, fields[4].IndexOf(':', StringComparison.Ordinal)), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        return null;
    }
}
