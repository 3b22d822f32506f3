using System.Net;

namespace EchoServer.Program;

/// <summary>One <c>--bind</c> value: an IP address and port, or a unix socket path.</summary>
/// <param name="EndPoint">The TCP (and, with --udp, UDP) address; null for a unix socket.</param>
/// <param name="UnixPath">The unix socket path; null for an IP address.</param>
internal sealed record ListenAddress(IPEndPoint? EndPoint, string? UnixPath)
{
    private const string UnixPrefix = "unix:";

    /// <summary>127.0.0.1:9000, when neither --bind nor inherited sockets say otherwise.</summary>
    public static ListenAddress Default { get; } = new(new IPEndPoint(IPAddress.Loopback, 9000), null);

    /// <summary>Parses <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>, <c>localhost:9000</c> or <c>unix:/run/echo.sock</c>.</summary>
    public static bool TryParse(string text, out ListenAddress address, out string error)
    {
        address = Default;
        if (text.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            var path = text[UnixPrefix.Length..];
            if (path.Length == 0)
            {
                error = "expected a path after 'unix:', like unix:/run/echo.sock";
                return false;
            }

            address = new ListenAddress(null, path);
            error = string.Empty;
            return true;
        }

        if (!BindAddress.TryParse(text, out var endPoint, out error))
        {
            return false;
        }

        address = new ListenAddress(endPoint, null);
        return true;
    }

    /// <summary>Port 0 asks for a free port, so two of them are two listeners, not one address given twice.</summary>
    public bool Equals(ListenAddress? other) =>
        other is not null && EndPoint?.Port != 0 && Equals(EndPoint, other.EndPoint) && UnixPath == other.UnixPath;

    public override int GetHashCode() => HashCode.Combine(EndPoint, UnixPath);

    /// <summary>As logs and errors write it: <c>127.0.0.1:9000</c>, <c>[::1]:9000</c>, <c>unix:/run/echo.sock</c>.</summary>
    public override string ToString() => UnixPath is { } path ? $"{UnixPrefix}{path}" : EndPoint!.ToString();
}
