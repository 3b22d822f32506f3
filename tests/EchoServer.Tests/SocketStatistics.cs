using System.Globalization;
using System.Text.RegularExpressions;

namespace EchoServer.Tests;

/// <summary>
/// The server's side of its connections as the kernel reports it to ss(8) (a test cannot getsockopt another process's
/// socket). Linux only; under Wine the Windows server's sockets are Linux sockets too.
/// </summary>
internal static partial class SocketStatistics
{
    /// <summary>Why ss cannot be asked here, or null when it can.</summary>
    public static string? SkipReason =>
        !OperatingSystem.IsLinux() ? "ss(8) reports Linux's sockets"
        : Executables.Find("ss") is null ? "ss (iproute2) is not installed"
        : null;

    /// <summary><c>ss -tmino</c>'s lines for the established connections whose local port is <paramref name="serverPort"/>.</summary>
    public static async Task<string> EstablishedAsync(int serverPort)
    {
        await using var ss = await ServerProcess.RunToExitAsync(
            Executables.Find("ss")!, ["-tmino", "state", "established", $"( sport = :{serverPort} )"], environment: null, Patience.Short);
        return ss.Stdout;
    }

    /// <summary>Seconds until the keepalive timer of the one socket in <paramref name="listing"/> fires, or null if it has none.</summary>
    public static int? KeepAliveSeconds(string listing) =>
        KeepAliveTimer().Match(listing) is { Success: true } timer ? int.Parse(timer.Groups["seconds"].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"timer:\(keepalive,(?<seconds>\d+)sec")]
    private static partial Regex KeepAliveTimer();
}
