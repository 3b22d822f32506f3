namespace EchoServer.Program;

/// <summary>
/// What the server can offer on the OS it runs on, decided here and nowhere else: the echo layer only sees the
/// options this leaves on (docs/design.md, "The echo server on Windows"). On Windows the sockets are Winsock TCP
/// over the AFD poller; what needs Unix (unix sockets, UDP, systemd, splice, SO_REUSEPORT) is off there, and the
/// console's own events (closing it, Ctrl+Break) stop the server too.
/// </summary>
internal static class HostPlatform
{
    /// <summary>Why unix-socket addresses cannot be served here, or null when they can.</summary>
    public static string? UnixSocketsUnavailable => OperatingSystem.IsWindows() ? "unix sockets are not served on Windows" : null;

    /// <summary>Why --udp cannot be served here, or null when it can.</summary>
    public static string? UdpUnavailable => OperatingSystem.IsWindows() ? "UDP echo is not served on Windows" : null;

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
