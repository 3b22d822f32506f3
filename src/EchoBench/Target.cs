using System.Net;
using System.Net.Sockets;

namespace EchoBench;

/// <summary>The <c>--target</c> value: the echo server to connect to, <c>127.0.0.1:9000</c>, <c>[::1]:7</c>, <c>localhost:9000</c>.</summary>
internal static class Target
{
    private const string Localhost = "localhost:";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong in words.</summary>
    public static bool TryParse(string text, out IPEndPoint endPoint, out string error)
    {
        if (text.StartsWith(Localhost, StringComparison.OrdinalIgnoreCase))
        {
            text = $"127.0.0.1:{text[Localhost.Length..]}";
        }

        // IPEndPoint.TryParse takes "1:7" or "10.1:7" (inet_aton's shorthands) and a missing port (as 0): typos here.
        if (!IPEndPoint.TryParse(text, out endPoint!)
            || (endPoint.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') != 3)
            || (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, 0);
            error = "expected HOST:PORT with an IP address, like 127.0.0.1:9000 or [::1]:9000";
            return false;
        }

        if (endPoint.Port == 0)
        {
            error = "port 0 cannot be connected to; give the server's port (1-65535)";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
