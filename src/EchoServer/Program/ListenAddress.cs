using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EchoServer.Program;

/// <summary>
/// One <c>--bind</c> value, parsed once on the command line: an IP address and port (<see cref="Ip"/>) or a unix
/// socket path (<see cref="Unix"/>). Whatever is wrong with it is a usage error there, never a failure at bind.
/// </summary>
internal abstract record ListenAddress
{
    private const string UnixPrefix = "unix:";

    private ListenAddress()
    {
    }

    /// <summary>127.0.0.1:9000, when neither --bind nor inherited sockets say otherwise.</summary>
    public static ListenAddress Default { get; } = new Ip(new IPEndPoint(IPAddress.Loopback, 9000));

    /// <summary>Parses <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>, <c>localhost:9000</c> or <c>unix:/run/echo.sock</c>.</summary>
    public static bool TryParse(string text, out ListenAddress address, out string error)
    {
        address = Default;
        if (text.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            var path = text[UnixPrefix.Length..];
            if (!Unix.IsValidPath(path, out error))
            {
                return false;
            }

            address = new Unix(path);
            return true;
        }

        if (!TryParseEndPoint(text, out var endPoint, out error))
        {
            return false;
        }

        address = new Ip(endPoint);
        return true;
    }

    /// <summary>A TCP address (and, with --udp, the UDP one beside it).</summary>
    /// <param name="EndPoint">Address and port; port 0 asks the kernel for a free one.</param>
    public sealed record Ip(IPEndPoint EndPoint) : ListenAddress
    {
        /// <summary>Port 0 asks for a free port, so two of them are two listeners, not one address given twice.</summary>
        public bool Equals(Ip? other) => other is not null && EndPoint.Port != 0 && EndPoint.Equals(other.EndPoint);

        public override int GetHashCode() => EndPoint.GetHashCode();

        /// <summary>As logs and errors write it: <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>.</summary>
        public override string ToString() => EndPoint.ToString();
    }

    /// <summary>A unix stream socket at <paramref name="Path"/>.</summary>
    /// <param name="Path">The socket file.</param>
    public sealed record Unix(string Path) : ListenAddress
    {
        // sizeof(sun_path) less its NUL: 108 on Linux, 104 on macOS and FreeBSD (sys/un.h).
        private static int MaxPathBytes => OperatingSystem.IsLinux() ? 107 : 103;

        /// <summary>As logs and errors write it: <c>unix:/run/echo.sock</c>.</summary>
        public override string ToString() => $"{UnixPrefix}{Path}";

        internal static bool IsValidPath(string path, out string error)
        {
            error = path switch
            {
                "" => "expected a path after 'unix:', like unix:/run/echo.sock",
                _ when path.Contains('\0', StringComparison.Ordinal) => "a unix socket path cannot contain NUL",
                _ when Encoding.UTF8.GetByteCount(path) > MaxPathBytes => $"a unix socket path holds at most {MaxPathBytes} bytes here",
                _ => string.Empty,
            };
            return error.Length == 0;
        }
    }

    private static bool TryParseEndPoint(string text, out IPEndPoint endPoint, out string error)
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
            || (address.AddressFamily == AddressFamily.InterNetwork && host.Count(c => c == '.') != 3))
        {
            // IPAddress.TryParse accepts "1" or "10.1" (inet_aton's shorthands); a person who types that has made a typo.
            error = $"'{host}' is not an IP address";
            return false;
        }

        endPoint = new IPEndPoint(address, portNumber);
        error = string.Empty;
        return true;
    }
}
