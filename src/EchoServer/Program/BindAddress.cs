using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EchoServer.Program;

/// <summary>Parses <c>--bind</c> values: <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>, <c>0.0.0.0:9000</c>, <c>localhost:9000</c>.</summary>
internal static class BindAddress
{
    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong in words.</summary>
    public static bool TryParse(string text, out IPEndPoint endPoint, out string error)
    {
        endPoint = new IPEndPoint(IPAddress.Loopback, 0);
        string host;
        string port;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0)
            {
                error = "an IPv6 address needs brackets and a port, like [::1]:9000";
                return false;
            }

            host = text[1..close];
            port = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                error = "expected HOST:PORT, like 127.0.0.1:9000";
                return false;
            }

            host = text[..colon];
            port = text[(colon + 1)..];
            if (host.Contains(':', StringComparison.Ordinal))
            {
                error = "an IPv6 address needs brackets, like [::1]:9000";
                return false;
            }
        }

        if (port.Length == 0 || port.Length > 5 || !port.All(char.IsAsciiDigit)
            || !int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var portNumber) || portNumber > 65535)
        {
            error = $"'{port}' is not a port number (0-65535)";
            return false;
        }

        IPAddress? address;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address)
            || (address.AddressFamily == AddressFamily.InterNetwork && !IsDottedQuad(host)))
        {
            error = $"'{host}' is not an IP address";
            return false;
        }

        endPoint = new IPEndPoint(address, portNumber);
        error = string.Empty;
        return true;
    }

    // IPAddress.TryParse accepts "1" or "10.1" (inet_aton's shorthand forms); a person who types that has made a typo.
    private static bool IsDottedQuad(string host) => host.Count(c => c == '.') == 3;
}
