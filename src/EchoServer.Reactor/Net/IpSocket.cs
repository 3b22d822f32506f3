using System.Net;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>The first step of every IP socket factory here (TCP and UDP bind, TCP connect).</summary>
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
}
