using System.Net;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>The first steps of every IP socket factory here (TCP and UDP bind, TCP connect), on Unix and on Windows.</summary>
internal static class IpSocket
{
    /// <summary>
    /// Opens a non-blocking, close-on-exec socket of <paramref name="endPoint"/>'s family and encodes the
    /// endpoint for bind(2) or connect(2). The caller owns the fd.
    /// </summary>
    /// <exception cref="SyscallException">socket(2) failed.</exception>
    public static int Open(IPEndPoint endPoint, int type, out SockAddr addr, out uint length)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var fd = Libc.Socket(SockAddr.FamilyOf(endPoint), type, out var errno);
        if (fd < 0)
        {
            throw new SyscallException("socket", errno);
        }

        length = SockAddr.Encode(endPoint, out addr);
        return fd;
    }

    /// <summary>Opens a non-blocking Winsock socket of <paramref name="endPoint"/>'s family (Windows). The caller owns it.</summary>
    /// <exception cref="SyscallException">WSASocketW failed.</exception>
    public static nint OpenWinsock(IPEndPoint endPoint, int type)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var s = Ws2_32.Socket(SockAddr.FamilyOf(endPoint), type, out var errno);
        return s != WinsockConstants.INVALID_SOCKET ? s : throw new SyscallException("WSASocketW", errno);
    }

    /// <summary>
    /// Opens a Winsock socket of <paramref name="endPoint"/>'s family and binds it there (Windows); <paramref name="bound"/> is
    /// the address it got (the real port when port 0 was asked for). The caller owns it; on failure it is closed.
    /// </summary>
    /// <exception cref="SyscallException">WSASocketW or bind failed.</exception>
    public static nint BindWinsock(IPEndPoint endPoint, int type, out IPEndPoint bound)
    {
        var s = OpenWinsock(endPoint, type);
        try
        {
            SyscallException.ThrowIfError("bind", Ws2_32.Bind(s, endPoint));
            bound = Ws2_32.LocalEndPoint(s) ?? endPoint;
            return s;
        }
        catch
        {
            _ = Ws2_32.CloseSocket(s);
            throw;
        }
    }
}
