namespace EchoServer.Reactor.Interop;

/// <summary>
/// The setsockopt(2) options that bound how long TCP waits on a silent peer: keepalive, and the limit on how long sent
/// bytes may stay unacknowledged. Kept beside <see cref="OsConstants"/> rather than in it, like
/// <see cref="SocketInfoConstants"/>. Values from rust libc 0.2.139: Linux <c>linux_like/mod.rs</c> and
/// <c>linux/arch/generic/mod.rs</c>, macOS <c>bsd/apple/mod.rs</c>, FreeBSD <c>bsd/freebsdlike/mod.rs</c>; the two it
/// lacks from the OS headers: macOS <c>netinet/tcp.h</c> TCP_RXT_CONNDROPTIME 0x80, FreeBSD 14 <c>netinet/tcp.h</c>
/// TCP_MAXUNACKTIME 68 (FreeBSD tcp(4); rust libc after 0.2.139, <c>freebsdlike/freebsd/mod.rs</c>; golang.org/x/sys <c>zerrors_freebsd_amd64.go</c> 0x44).
/// Windows from the SDK's <c>winsock2.h</c> (SO_KEEPALIVE 0x0008) and <c>ws2ipdef.h</c> (TCP_KEEPALIVE = TCP_KEEPIDLE 3, TCP_MAXRT 5,
/// TCP_KEEPCNT 16, TCP_KEEPINTVL 17; TCP_KEEPIDLE and TCP_KEEPINTVL from Windows 10 1709, TCP_KEEPCNT from 1703).
/// </summary>
internal sealed record TcpOptionConstants
{
    /// <summary>SO_KEEPALIVE (level SOL_SOCKET): send keepalive probes on an idle connection.</summary>
    public required int SO_KEEPALIVE { get; init; }

    /// <summary>Seconds of idleness before the first probe: TCP_KEEPIDLE (Linux, FreeBSD), TCP_KEEPALIVE (macOS).</summary>
    public required int TCP_KEEPIDLE { get; init; }

    /// <summary>TCP_KEEPINTVL: seconds between unanswered probes.</summary>
    public required int TCP_KEEPINTVL { get; init; }

    /// <summary>TCP_KEEPCNT: unanswered probes before the connection is dropped.</summary>
    public required int TCP_KEEPCNT { get; init; }

    /// <summary>
    /// How long sent bytes may stay unacknowledged before the connection is dropped: TCP_USER_TIMEOUT (Linux, milliseconds),
    /// TCP_RXT_CONNDROPTIME (macOS, seconds from the first retransmission), TCP_MAXUNACKTIME (FreeBSD 14+, seconds),
    /// TCP_MAXRT (Windows, seconds of retransmission).
    /// </summary>
    public required int UnacknowledgedTimeout { get; init; }

    /// <summary>Milliseconds per unit of <see cref="UnacknowledgedTimeout"/>'s value: 1 on Linux, 1000 elsewhere.</summary>
    public required int UnacknowledgedTimeoutUnitMs { get; init; }

    /// <summary>The most keepalive probes the OS takes (Linux MAX_TCP_KEEPCNT; the BSDs take more).</summary>
    public const int MaxKeepAliveCount = 127;

    /// <summary>The longest keepalive idle time or interval in seconds the OS takes (Linux MAX_TCP_KEEPIDLE/KEEPINTVL).</summary>
    public const int MaxKeepAliveSeconds = 32767;

    public static readonly TcpOptionConstants Linux = new()
    {
        SO_KEEPALIVE = 9, TCP_KEEPIDLE = 4, TCP_KEEPINTVL = 5, TCP_KEEPCNT = 6, UnacknowledgedTimeout = 18, UnacknowledgedTimeoutUnitMs = 1,
    };

    public static readonly TcpOptionConstants MacOS = new()
    {
        SO_KEEPALIVE = 0x8, TCP_KEEPIDLE = 0x10, TCP_KEEPINTVL = 0x101, TCP_KEEPCNT = 0x102, UnacknowledgedTimeout = 0x80, UnacknowledgedTimeoutUnitMs = 1000,
    };

    public static readonly TcpOptionConstants FreeBSD = new()
    {
        SO_KEEPALIVE = 0x8, TCP_KEEPIDLE = 256, TCP_KEEPINTVL = 512, TCP_KEEPCNT = 1024, UnacknowledgedTimeout = 68, UnacknowledgedTimeoutUnitMs = 1000,
    };

    public static readonly TcpOptionConstants Windows = new()
    {
        SO_KEEPALIVE = 0x8, TCP_KEEPIDLE = 3, TCP_KEEPINTVL = 17, TCP_KEEPCNT = 16, UnacknowledgedTimeout = 5, UnacknowledgedTimeoutUnitMs = 1000,
    };

    /// <summary>The table of the OS this process runs on.</summary>
    public static readonly TcpOptionConstants Current = OsConstants.Current.Os switch
    {
        OsFamily.Linux => Linux,
        OsFamily.MacOS => MacOS,
        OsFamily.Windows => Windows,
        _ => FreeBSD,
    };
}

/// <summary>The TCP options above, and the socket buffer sizes, through the running OS's socket calls.</summary>
internal static partial class SocketCalls
{
    /// <summary>
    /// SO_KEEPALIVE on, with the idle time, probe interval (seconds) and probe count; stops at the first failure, leaving
    /// what was set before it. Where Windows refuses TCP_KEEPIDLE (before Windows 10 1709, and Wine), the idle time and
    /// interval go through SIO_KEEPALIVE_VALS, which turns keepalive on as well.
    /// </summary>
    public static Errno SetKeepAlive(nint handle, int idleSeconds, int intervalSeconds, int count)
    {
        var c = OsConstants.Current;
        var t = TcpOptionConstants.Current;
        var errno = SetOption(handle, c.IPPROTO_TCP, t.TCP_KEEPIDLE, idleSeconds);
        if (errno.Value == 0)
        {
            errno = SetOption(handle, c.IPPROTO_TCP, t.TCP_KEEPINTVL, intervalSeconds);
        }
        else if (OperatingSystem.IsWindows() && errno.Value == WinsockConstants.WSAENOPROTOOPT)
        {
            errno = Ws2_32.SetKeepAliveValues(handle, idleSeconds, intervalSeconds);
        }

        if (errno.Value == 0)
        {
            errno = SetOption(handle, c.IPPROTO_TCP, t.TCP_KEEPCNT, count);
        }

        return errno.Value == 0 ? SetOption(handle, c.SOL_SOCKET, t.SO_KEEPALIVE, 1) : errno;
    }

    /// <summary>The unacknowledged-data bound in milliseconds, rounded up to the OS's unit; 0 = the OS's own rule.</summary>
    public static Errno SetUnacknowledgedTimeout(nint handle, long milliseconds)
    {
        var t = TcpOptionConstants.Current;
        var value = (milliseconds + t.UnacknowledgedTimeoutUnitMs - 1) / t.UnacknowledgedTimeoutUnitMs;
        return SetOption(handle, OsConstants.Current.IPPROTO_TCP, t.UnacknowledgedTimeout, (int)Math.Min(value, int.MaxValue));
    }

    /// <summary>SO_RCVBUF then SO_SNDBUF; a size of 0 leaves that buffer to the kernel's autotuning.</summary>
    public static Errno SetBufferSizes(nint handle, int receiveBytes, int sendBytes)
    {
        var c = OsConstants.Current;
        var errno = receiveBytes > 0 ? SetOption(handle, c.SOL_SOCKET, c.SO_RCVBUF, receiveBytes) : default;
        return errno.Value == 0 && sendBytes > 0 ? SetOption(handle, c.SOL_SOCKET, c.SO_SNDBUF, sendBytes) : errno;
    }

    /// <summary>SO_RCVBUF and SO_SNDBUF as the kernel reports them (Linux: twice what was asked, for its bookkeeping).</summary>
    public static Errno GetBufferSizes(nint handle, out int receiveBytes, out int sendBytes)
    {
        var c = OsConstants.Current;
        sendBytes = 0;
        var errno = GetOption(handle, c.SOL_SOCKET, c.SO_RCVBUF, out receiveBytes);
        return errno.Value == 0 ? GetOption(handle, c.SOL_SOCKET, c.SO_SNDBUF, out sendBytes) : errno;
    }
}
