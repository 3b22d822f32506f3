namespace EchoServer.Program;

/// <summary>
/// What the server can offer on the OS it runs on, decided here and nowhere else: the echo layer only sees the
/// options this leaves on (docs/design.md, "The echo server on Windows"). On Windows the sockets are Winsock TCP and UDP
/// over the AFD poller; what needs Unix (systemd, splice, SO_REUSEPORT) is off there, and so are unix sockets, which
/// Windows has but Wine, where the Windows build is tested, has not. The console's own events (closing it, Ctrl+Break)
/// stop the server too.
/// </summary>
internal static class HostPlatform
{
    /// <summary>Why unix-socket addresses cannot be served here, or null when they can.</summary>
    public static string? UnixSocketsUnavailable => OperatingSystem.IsWindows()
        ? "unix sockets are not served on Windows (Windows 10 1803 and later have AF_UNIX, but Wine 8, where this build is tested, refuses it)"
        : null;

    /// <summary>Why more than one reactor cannot share a port here (no SO_REUSEPORT), or null when they can.</summary>
    public static string? SeveralReactorsUnavailable =>
        OperatingSystem.IsWindows() ? "one reactor on Windows (several listeners cannot share a port there)" : null;

    /// <summary>Whether systemd's variables (LISTEN_FDS, NOTIFY_SOCKET, WATCHDOG_USEC) are read: not on Windows.</summary>
    public static bool HasServiceManager => !OperatingSystem.IsWindows();

    /// <summary>
    /// Whether closing the console (CTRL_CLOSE_EVENT) and Ctrl+Break (CTRL_BREAK_EVENT) drain, as Ctrl+C does: on Windows.
    /// .NET reports them as SIGHUP and SIGQUIT, which on Unix keep their own meanings and default actions.
    /// </summary>
    public static bool HasConsoleEvents => OperatingSystem.IsWindows();
}
