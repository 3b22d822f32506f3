using System.Globalization;
using System.Text;
using EchoServer.Reactor.Net;

namespace EchoServer.Systemd;

/// <summary>
/// The sending side of systemd's readiness protocol (sd_notify(3)): newline-separated <c>KEY=VALUE</c>
/// datagrams to the unix datagram socket named by <c>NOTIFY_SOCKET</c> (a path, or an abstract name written
/// <c>@name</c>). Null-object style: when NOTIFY_SOCKET is unset, <see cref="FromEnvironment"/> returns null
/// and the server sends nothing.
/// </summary>
/// <remarks>
/// A failed send is not fatal (sd_notify's callers ignore it too): readiness is a courtesy to the service
/// manager, and a systemd that misses READY=1 fails the unit by its own timeout. Sends are non-blocking, so a
/// stuck manager cannot stall the event loop that sends the watchdog pings. Thread-safe: the signal handler
/// sends STOPPING=1 while the loop sends STATUS= and WATCHDOG=1.
/// </remarks>
internal sealed class ServiceNotifier : IDisposable
{
    private readonly UnixDatagramSocket _socket;
    private readonly string _address;
    private readonly Lock _gate = new();
    private string? _lastStatus;

    private ServiceNotifier(UnixDatagramSocket socket, string address, TimeSpan? watchdogInterval)
    {
        _socket = socket;
        _address = address[0] == '@' ? "\0" + address[1..] : address;
        Address = address;
        WatchdogInterval = watchdogInterval;
    }

    /// <summary>NOTIFY_SOCKET as given: a path, or <c>@name</c>.</summary>
    public string Address { get; }

    /// <summary>How often to send WATCHDOG=1 (half of WATCHDOG_USEC, as sd_watchdog_enabled(3) advises); null = no watchdog.</summary>
    public TimeSpan? WatchdogInterval { get; }

    /// <summary>Datagrams that could not be sent (for the log at exit; they are not retried).</summary>
    public int FailedSends { get; private set; }

    /// <summary>
    /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. Returns null when NOTIFY_SOCKET is unset or empty.
    /// </summary>
    /// <param name="get">Reads an environment variable.</param>
    /// <param name="pid">This process's id: WATCHDOG_PID, when set, must match it.</param>
    /// <param name="error">What is wrong with a variable that is set but malformed.</param>
    public static ServiceNotifier? FromEnvironment(Func<string, string?> get, int pid, out string? error)
    {
        error = null;
        var socketText = get("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(socketText))
        {
            return null;
        }

        if (socketText[0] is not ('/' or '@'))
        {
            // sd_notify: only absolute paths and abstract names are understood (EAFNOSUPPORT otherwise).
            error = $"NOTIFY_SOCKET='{socketText}' is neither an absolute path nor an @abstract name";
            return null;
        }

        TimeSpan? watchdog = null;
        if (get("WATCHDOG_USEC") is { Length: > 0 } usecText)
        {
            if (!ulong.TryParse(usecText, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec == 0)
            {
                error = $"WATCHDOG_USEC='{usecText}' is not a positive number of microseconds";
                return null;
            }

            var pidText = get("WATCHDOG_PID");
            var forUs = string.IsNullOrEmpty(pidText)
                || (int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var watchdogPid) && watchdogPid == pid);
            watchdog = forUs ? TimeSpan.FromMicroseconds(usec / 2.0) : null;
        }

        return new ServiceNotifier(UnixDatagramSocket.Open(), socketText, watchdog);
    }

    /// <summary>READY=1 with a first status line: the listeners are open and serving.</summary>
    public void Ready(string status) => Send($"READY=1\nSTATUS={status}", status);

    /// <summary>STOPPING=1: the drain has begun.</summary>
    public void Stopping(string status) => Send($"STOPPING=1\nSTATUS={status}", status);

    /// <summary>STATUS=, only if it differs from the last one sent (called on a timer; a repeat costs a syscall for nothing).</summary>
    public void Status(string status)
    {
        lock (_gate)
        {
            if (status == _lastStatus)
            {
                return;
            }
        }

        Send($"STATUS={status}", status);
    }

    /// <summary>WATCHDOG=1: the event loop is alive.</summary>
    public void Watchdog() => Send("WATCHDOG=1", null);

    private void Send(string message, string? status)
    {
        var bytes = Encoding.UTF8.GetBytes(message);
        lock (_gate)
        {
            if (status is not null)
            {
                _lastStatus = status;
            }

            if (!_socket.Source.IsValid || _socket.SendTo(bytes, _address, out _) < 0)
            {
                FailedSends++;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _socket.Dispose();
        }
    }
}
