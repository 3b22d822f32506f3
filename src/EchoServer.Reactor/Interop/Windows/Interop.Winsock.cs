using System.Net;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>WSADATA</c> (winsock2.h) as 64-bit Windows lays it out: <c>{ WORD wVersion; WORD wHighVersion;
/// unsigned short iMaxSockets; unsigned short iMaxUdpDg; char *lpVendorInfo; char szDescription[257];
/// char szSystemStatus[129]; }</c>, 408 bytes (the 32-bit header puts the two strings before the shorts).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct WsaData
{
    public ushort Version;
    public ushort HighVersion;
    public ushort MaxSockets;
    public ushort MaxUdpDg;
    public byte* VendorInfo;
    public fixed byte Description[257];
    public fixed byte SystemStatus[129];
}

/// <summary>
/// Mirrors <c>struct tcp_keepalive { ULONG onoff; ULONG keepalivetime; ULONG keepaliveinterval; }</c> (mstcpip.h), the
/// argument of SIO_KEEPALIVE_VALS: keepalive on or off, and the idle time and probe interval in milliseconds. 12 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TcpKeepAlive
{
    public uint OnOff;
    public uint KeepAliveTime;
    public uint KeepAliveInterval;
}

/// <summary>Winsock numbers from winsock2.h / ws2def.h / mstcpip.h / winerror.h that are not in <see cref="OsConstants"/>.</summary>
internal static class WinsockConstants
{
    public const nint INVALID_SOCKET = -1;
    public const int SOCKET_ERROR = -1;
    public const int FIONBIO = unchecked((int)0x8004667E);
    public const uint SIO_BASE_HANDLE = 0x48000022;
    public const uint SIO_BSP_HANDLE_POLL = 0x4800001D;
    public const uint SIO_UDP_CONNRESET = 0x9800000C;
    public const int WSAEMSGSIZE = 10040;

    /// <summary>_WSAIOW(IOC_VENDOR, 4): keepalive on, with its idle time and interval (<see cref="TcpKeepAlive"/>).</summary>
    public const uint SIO_KEEPALIVE_VALS = 0x98000004;

    /// <summary>The option is unknown to the provider (winerror.h), as a TCP option newer than the running Windows is.</summary>
    public const int WSAENOPROTOOPT = 10042;
    public const uint WSA_FLAG_OVERLAPPED = 0x01;
    public const uint WSA_FLAG_NO_HANDLE_INHERIT = 0x80;
    public const ushort WinsockVersion22 = 0x0202;
}

/// <summary>
/// ws2_32.dll, for sockets on Windows. A <c>SOCKET</c> is a pointer-sized handle (<c>nint</c> here), not a small integer.
/// Errors come back as Winsock numbers (WSAEWOULDBLOCK…) in <see cref="Errno"/>, whose meanings (<see cref="Errno.IsWouldBlock"/>…)
/// the Windows table of <see cref="OsConstants"/> maps.
/// </summary>
/// <remarks>
/// Every import saves the thread's last error right after the call (<c>SetLastError = true</c>); it is what
/// WSAGetLastError returns, read before anything else can overwrite it, so WSAGetLastError itself is not imported.
/// </remarks>
internal static unsafe partial class Ws2_32
{
    private const string Name = "ws2_32.dll";

    private static readonly Lazy<Errno> Started = new(StartOnce);

    // int WSAStartup(WORD wVersionRequested, LPWSADATA lpWSAData);
    [LibraryImport(Name, EntryPoint = "WSAStartup")]
    private static partial int WSAStartup(ushort versionRequested, WsaData* data);

    // SOCKET WSASocketW(int af, int type, int protocol, LPWSAPROTOCOL_INFOW lpProtocolInfo, GROUP g, DWORD dwFlags);
    [LibraryImport(Name, EntryPoint = "WSASocketW", SetLastError = true)]
    private static partial nint WSASocketW(int af, int type, int protocol, void* protocolInfo, uint group, uint flags);

    // int bind(SOCKET s, const struct sockaddr *name, int namelen);
    [LibraryImport(Name, EntryPoint = "bind", SetLastError = true)]
    private static partial int bind(nint s, SockAddr* name, int length);

    // int listen(SOCKET s, int backlog);
    [LibraryImport(Name, EntryPoint = "listen", SetLastError = true)]
    private static partial int listen(nint s, int backlog);

    // SOCKET accept(SOCKET s, struct sockaddr *addr, int *addrlen);
    [LibraryImport(Name, EntryPoint = "accept", SetLastError = true)]
    private static partial nint accept(nint s, SockAddr* addr, int* length);

    // int connect(SOCKET s, const struct sockaddr *name, int namelen);
    [LibraryImport(Name, EntryPoint = "connect", SetLastError = true)]
    private static partial int connect(nint s, SockAddr* name, int length);

    // int recv(SOCKET s, char *buf, int len, int flags);
    [LibraryImport(Name, EntryPoint = "recv", SetLastError = true)]
    private static partial int recv(nint s, byte* buffer, int length, int flags);

    // int send(SOCKET s, const char *buf, int len, int flags);
    [LibraryImport(Name, EntryPoint = "send", SetLastError = true)]
    private static partial int send(nint s, byte* buffer, int length, int flags);

    // int shutdown(SOCKET s, int how);
    [LibraryImport(Name, EntryPoint = "shutdown", SetLastError = true)]
    private static partial int shutdown(nint s, int how);

    // int closesocket(SOCKET s);
    [LibraryImport(Name, EntryPoint = "closesocket", SetLastError = true)]
    private static partial int closesocket(nint s);

    // int ioctlsocket(SOCKET s, long cmd, u_long *argp);   (long is 32 bits on Windows)
    [LibraryImport(Name, EntryPoint = "ioctlsocket", SetLastError = true)]
    private static partial int ioctlsocket(nint s, int command, uint* argument);

    // int setsockopt(SOCKET s, int level, int optname, const char *optval, int optlen);
    [LibraryImport(Name, EntryPoint = "setsockopt", SetLastError = true)]
    private static partial int setsockopt(nint s, int level, int name, void* value, int length);

    // int getsockopt(SOCKET s, int level, int optname, char *optval, int *optlen);
    [LibraryImport(Name, EntryPoint = "getsockopt", SetLastError = true)]
    private static partial int getsockopt(nint s, int level, int name, void* value, int* length);

    // int getsockname(SOCKET s, struct sockaddr *name, int *namelen);
    [LibraryImport(Name, EntryPoint = "getsockname", SetLastError = true)]
    private static partial int getsockname(nint s, SockAddr* name, int* length);

    // int getpeername(SOCKET s, struct sockaddr *name, int *namelen);
    [LibraryImport(Name, EntryPoint = "getpeername", SetLastError = true)]
    private static partial int getpeername(nint s, SockAddr* name, int* length);

    // int WSAIoctl(SOCKET s, DWORD dwIoControlCode, LPVOID lpvInBuffer, DWORD cbInBuffer, LPVOID lpvOutBuffer,
    //   DWORD cbOutBuffer, LPDWORD lpcbBytesReturned, LPWSAOVERLAPPED lpOverlapped, LPWSAOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine);
    [LibraryImport(Name, EntryPoint = "WSAIoctl", SetLastError = true)]
    private static partial int WSAIoctl(
        nint s, uint code, void* inBuffer, uint inLength, void* outBuffer, uint outLength, uint* returned, void* overlapped, void* completionRoutine);

    /// <summary>Winsock 2.2 started for this process (once; the result of that one WSAStartup).</summary>
    internal static Errno EnsureStarted() => Started.Value;

    /// <summary>A non-blocking, non-inheritable socket (WSA_FLAG_OVERLAPPED, as AFD polling expects); -1 on failure.</summary>
    internal static nint Socket(int family, int type, out Errno errno)
    {
        errno = EnsureStarted();
        if (errno.Value != 0)
        {
            return WinsockConstants.INVALID_SOCKET;
        }

        var s = WSASocketW(family, type, 0, null, 0, WinsockConstants.WSA_FLAG_OVERLAPPED | WinsockConstants.WSA_FLAG_NO_HANDLE_INHERIT);
        return NonBlockingOrClosed(s, out errno);
    }

    /// <summary>ioctlsocket(FIONBIO, 1).</summary>
    internal static Errno SetNonBlocking(nint s)
    {
        uint on = 1;
        return Check(ioctlsocket(s, WinsockConstants.FIONBIO, &on));
    }

    internal static Errno Bind(nint s, IPEndPoint endPoint)
    {
        var length = SockAddr.Encode(endPoint, out var addr);
        return Check(bind(s, &addr, (int)length));
    }

    internal static Errno Listen(nint s, int backlog) => Check(listen(s, backlog));

    /// <summary>Accepts one connection and makes it non-blocking; -1 with <paramref name="errno"/> (WSAEWOULDBLOCK when none is queued).</summary>
    internal static nint Accept(nint s, out Errno errno)
    {
        return NonBlockingOrClosed(accept(s, null, null), out errno);
    }

    /// <summary>Starts a connect; on a non-blocking socket WSAEWOULDBLOCK means it is under way (wait for writability).</summary>
    internal static Errno Connect(nint s, IPEndPoint endPoint)
    {
        var length = SockAddr.Encode(endPoint, out var addr);
        return Check(connect(s, &addr, (int)length));
    }

    /// <summary>recv; the count, 0 at end of stream, or -1 with <paramref name="errno"/>.</summary>
    internal static int Receive(nint s, Span<byte> buffer, out Errno errno)
    {
        fixed (byte* p = buffer)
        {
            var n = recv(s, p, buffer.Length, 0);
            errno = n < 0 ? LastError : Errno.None;
            return n;
        }
    }

    /// <summary>send; the count, or -1 with <paramref name="errno"/>.</summary>
    internal static int Send(nint s, ReadOnlySpan<byte> buffer, out Errno errno)
    {
        fixed (byte* p = buffer)
        {
            var n = send(s, p, buffer.Length, 0);
            errno = n < 0 ? LastError : Errno.None;
            return n;
        }
    }

    internal static Errno Shutdown(nint s, int how) => Check(shutdown(s, how));

    internal static Errno CloseSocket(nint s) => Check(closesocket(s));

    internal static Errno SetOption(nint s, int level, int name, int value) => Check(setsockopt(s, level, name, &value, sizeof(int)));

    /// <summary>SIO_KEEPALIVE_VALS: keepalive on, with the idle time and probe interval (whole seconds; the ioctl takes milliseconds).</summary>
    internal static Errno SetKeepAliveValues(nint s, int idleSeconds, int intervalSeconds)
    {
        var values = new TcpKeepAlive { OnOff = 1, KeepAliveTime = (uint)idleSeconds * 1000, KeepAliveInterval = (uint)intervalSeconds * 1000 };
        uint returned = 0;
        return Check(WSAIoctl(s, WinsockConstants.SIO_KEEPALIVE_VALS, &values, (uint)sizeof(TcpKeepAlive), null, 0, &returned, null, null));
    }

    /// <summary>Sets SO_LINGER to on with a zero timeout: closesocket then resets the connection.</summary>
    internal static Errno SetResetOnClose(nint s)
    {
        // struct linger { u_short l_onoff; u_short l_linger; } (winsock2.h): two 16-bit fields, unlike Unix.
        var linger = 1u;
        var c = OsConstants.Current;
        return Check(setsockopt(s, c.SOL_SOCKET, c.SO_LINGER, &linger, sizeof(uint)));
    }

    internal static Errno GetOption(nint s, int level, int name, out int value)
    {
        int v = 0;
        var length = sizeof(int);
        var errno = Check(getsockopt(s, level, name, &v, &length));
        value = v;
        return errno;
    }

    internal static IPEndPoint? LocalEndPoint(nint s) => EndPoint(s, peer: false);

    internal static IPEndPoint? RemoteEndPoint(nint s) => EndPoint(s, peer: true);

    /// <summary>
    /// The base service provider's handle of a socket (what afd.sys knows it by, below any layered provider):
    /// SIO_BASE_HANDLE, and where a layered provider refuses that, SIO_BSP_HANDLE_POLL (as mio and wepoll do).
    /// </summary>
    internal static nint BaseHandle(nint s, out Errno errno)
    {
        errno = EnsureStarted();
        foreach (var code in new[] { WinsockConstants.SIO_BASE_HANDLE, WinsockConstants.SIO_BSP_HANDLE_POLL })
        {
            nint handle = 0;
            uint returned = 0;
            errno = Check(WSAIoctl(s, code, null, 0, &handle, (uint)sizeof(nint), &returned, null, null));
            if (errno.Value == 0 && handle != WinsockConstants.INVALID_SOCKET)
            {
                return handle;
            }
        }

        errno = errno.Value != 0 ? errno : new Errno(OsConstants.Current.EBADF);
        return WinsockConstants.INVALID_SOCKET;
    }

    private static IPEndPoint? EndPoint(nint s, bool peer)
    {
        SockAddr addr = default;
        var length = sizeof(SockAddr);
        var result = peer ? getpeername(s, &addr, &length) : getsockname(s, &addr, &length);
        return result == 0 ? addr.Decode() : null;
    }

    /// <summary>A socket a call just returned, made non-blocking; closed (and -1) if that fails; -1 with the call's error if it failed.</summary>
    private static nint NonBlockingOrClosed(nint s, out Errno errno)
    {
        if (s == WinsockConstants.INVALID_SOCKET)
        {
            errno = LastError;
            return s;
        }

        errno = SetNonBlocking(s);
        if (errno.Value != 0)
        {
            _ = closesocket(s);
            return WinsockConstants.INVALID_SOCKET;
        }

        return s;
    }

    private static Errno StartOnce()
    {
        WsaData data;
        var result = WSAStartup(WinsockConstants.WinsockVersion22, &data);
        return new Errno(result); // WSAStartup returns its error instead of setting it
    }

    private static Errno Check(int result) => result == WinsockConstants.SOCKET_ERROR ? LastError : Errno.None;

    private static Errno LastError => new(Marshal.GetLastPInvokeError());
}
