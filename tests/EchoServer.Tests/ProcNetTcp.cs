using System.Buffers.Binary;
using System.Globalization;
using System.Net;

namespace EchoServer.Tests;

/// <summary>
/// The kernel's view of one IPv4 TCP socket of this network namespace, from /proc/net/tcp (Linux): for tests that must know where
/// bytes and a FIN are (still in the sender's queue, or arrived), which no socket API of the peer tells.
/// </summary>
internal static class ProcNetTcp
{
    /// <summary>TCP_CLOSE_WAIT: the socket has received its peer's FIN.</summary>
    public const string CloseWait = "08";

    /// <summary>The socket bound to 127.0.0.1:<paramref name="localPort"/> and connected to 127.0.0.1:<paramref name="remotePort"/>.</summary>
    /// <returns>
    /// Its state (two hex digits, as the kernel writes it), its send queue (bytes not yet acknowledged) and its receive queue
    /// (bytes arrived and not yet read), or null if there is none.
    /// </returns>
    public static (string State, long SendQueue, long ReceiveQueue)? Find(int localPort, int remotePort) =>
        Find(new IPEndPoint(IPAddress.Loopback, localPort), new IPEndPoint(IPAddress.Loopback, remotePort));

    /// <summary>The IPv4 socket bound to <paramref name="localEndPoint"/> and connected to <paramref name="remoteEndPoint"/>.</summary>
    public static (string State, long SendQueue, long ReceiveQueue)? Find(IPEndPoint localEndPoint, IPEndPoint remoteEndPoint)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "/proc/net/tcp is Linux's");
        var local = Encode(localEndPoint);
        var remote = Encode(remoteEndPoint);
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length > 4 && fields[1] == local && fields[2] == remote)
            {
                var queues = fields[4].Split(':');
                return (fields[3], Hex(queues[0]), Hex(queues[1]));
            }
        }

        return null;
    }

    private static long Hex(string digits) => long.Parse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>As the kernel prints an IPv4 endpoint: the address as a host-order word in hex (127.0.0.1 is 0100007F), then the port.</summary>
    private static string Encode(IPEndPoint endPoint) =>
        $"{BinaryPrimitives.ReadUInt32LittleEndian(endPoint.Address.GetAddressBytes()):X8}:{endPoint.Port:X4}";
}
