using EchoServer.Reactor.Pollers;

namespace EchoServer.Program;

/// <summary>
/// Checks that the --poller backend can run on this system before anything is opened, and says in words
/// which backends can when it cannot.
/// </summary>
internal static class PollerChoice
{
    private const string LibkqueueVariable = "ECHOSERVER_LIBKQUEUE";

    /// <summary>False (after one line on stderr) when <paramref name="poller"/> cannot run here.</summary>
    public static bool TryUse(PollerKind poller, string name)
    {
        if (!TryUseLibkqueue(poller, name))
        {
            return false;
        }

        if (!PollerFactory.IsSupported(poller))
        {
            // Worded for people: "--poller kqueue: kqueue is not available on Linux (available: epoll)".
            var available = string.Join(", ", ((PollerKind[])[PollerKind.Epoll, PollerKind.Kqueue, PollerKind.Afd]).Where(PollerFactory.IsSupported).Select(PollerName));
            Console.Error.WriteLine($"{name}: --poller {PollerName(poller)}: {PollerName(poller)} is not available on {OsName} (available: {(available.Length > 0 ? available : "none")})");
            return false;
        }

        return true;
    }

    /// <summary>
    /// For developers: <c>--poller kqueue</c> on Linux runs over the libkqueue build that
    /// <see cref="LibkqueueVariable"/> names (docs/design.md, "kqueue over libkqueue"); without it, kqueue stays
    /// unavailable on Linux. False (after one line on stderr) when the variable names no usable library.
    /// </summary>
    private static bool TryUseLibkqueue(PollerKind poller, string name)
    {
        if (poller != PollerKind.Kqueue || !OperatingSystem.IsLinux()
            || Environment.GetEnvironmentVariable(LibkqueueVariable) is not { Length: > 0 } path)
        {
            return true;
        }

        try
        {
            PollerFactory.UseLibkqueue(path);
            return true;
        }
        catch (DllNotFoundException e)
        {
            Console.Error.WriteLine($"{name}: --poller kqueue: {LibkqueueVariable}: {e.Message}");
            return false;
        }
    }

    private static string PollerName(PollerKind kind) => kind.ToString().ToLowerInvariant();

    private static string OsName =>
        OperatingSystem.IsLinux() ? "Linux" : OperatingSystem.IsMacOS() ? "macOS" : OperatingSystem.IsFreeBSD() ? "FreeBSD"
        : OperatingSystem.IsWindows() ? "Windows" : System.Runtime.InteropServices.RuntimeInformation.OSDescription;
}
