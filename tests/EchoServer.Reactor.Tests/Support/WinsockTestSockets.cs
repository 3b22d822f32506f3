using System.Net;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>
/// A Winsock stream over the library's ws2_32 interop. Like every owner of a socket registered with the AFD poller, it
/// reports its would-blocks (<see cref="AfdPoller.RearmAfterWouldBlock"/>): that is what re-arms an edge on Windows.
/// </summary>
internal sealed class WinsockTestStream(nint socket) : TestStream
{
    private nint _socket = socket;

    public override Source Source => new(_socket);

    public override IPEndPoint? LocalEndPoint => Ws2_32.LocalEndPoint(_socket);

    public override IPEndPoint? RemoteEndPoint => Ws2_32.RemoteEndPoint(_socket);

    public static new WinsockTestStream Connect(IPEndPoint endPoint)
    {
        var s = Ws2_32.Socket(SockAddr.FamilyOf(endPoint), OsConstants.Current.SOCK_STREAM, out var errno);
        if (s == WinsockConstants.INVALID_SOCKET)
        {
            throw new SyscallException("WSASocketW", errno);
        }

        errno = Ws2_32.Connect(s, endPoint);
        if (errno.Value != 0 && !errno.IsWouldBlock && !errno.IsInProgress)
        {
            _ = Ws2_32.CloseSocket(s);
            throw new SyscallException("connect", errno);
        }

        return new WinsockTestStream(s);
    }

    public override int Read(Span<byte> buffer, out Errno errno)
    {
        var n = Ws2_32.Receive(_socket, buffer, out errno);
        if (errno.IsWouldBlock)
        {
            AfdPoller.RearmAfterWouldBlock(_socket, Interest.Readable);
        }

        return n;
    }

    public override int Write(ReadOnlySpan<byte> data, out Errno errno)
    {
        var n = Ws2_32.Send(_socket, data, out errno);
        if (errno.IsWouldBlock)
        {
            AfdPoller.RearmAfterWouldBlock(_socket, Interest.Writable);
        }

        return n;
    }

    public override Errno ShutdownWrite() => Ws2_32.Shutdown(_socket, OsConstants.Current.SHUT_WR);

    public override Errno SetResetOnClose() => Ws2_32.SetResetOnClose(_socket);

    public override Errno TakeError()
    {
        var c = OsConstants.Current;
        var errno = Ws2_32.GetOption(_socket, c.SOL_SOCKET, c.SO_ERROR, out var value);
        return errno.Value != 0 ? errno : new Errno(value);
    }

    public override void Dispose()
    {
        var s = Interlocked.Exchange(ref _socket, WinsockConstants.INVALID_SOCKET);
        if (s != WinsockConstants.INVALID_SOCKET)
        {
            _ = Ws2_32.CloseSocket(s);
        }
    }
}

/// <summary>A Winsock listener over the library's ws2_32 interop (see <see cref="WinsockTestStream"/>).</summary>
internal sealed class WinsockTestListener : TestListener
{
    private nint _socket;

    private WinsockTestListener(nint socket, IPEndPoint localEndPoint)
    {
        _socket = socket;
        LocalEndPoint = localEndPoint;
    }

    public override Source Source => new(_socket);

    public override IPEndPoint LocalEndPoint { get; }

    public static new WinsockTestListener Bind(IPEndPoint endPoint)
    {
        var s = Ws2_32.Socket(SockAddr.FamilyOf(endPoint), OsConstants.Current.SOCK_STREAM, out var errno);
        if (s == WinsockConstants.INVALID_SOCKET)
        {
            throw new SyscallException("WSASocketW", errno);
        }

        errno = Ws2_32.Bind(s, endPoint);
        if (errno.Value == 0)
        {
            errno = Ws2_32.Listen(s, OsConstants.Current.SOMAXCONN);
        }

        var local = errno.Value == 0 ? Ws2_32.LocalEndPoint(s) : null;
        if (local is null)
        {
            _ = Ws2_32.CloseSocket(s);
            throw new SyscallException("bind/listen", errno);
        }

        return new WinsockTestListener(s, local);
    }

    public override bool TryAccept(out TestStream accepted, out Errno errno)
    {
        var s = Ws2_32.Accept(_socket, out errno);
        if (s == WinsockConstants.INVALID_SOCKET)
        {
            if (errno.IsWouldBlock)
            {
                AfdPoller.RearmAfterWouldBlock(_socket, Interest.Readable);
            }

            accepted = null!;
            return false;
        }

        accepted = new WinsockTestStream(s);
        return true;
    }

    public override Errno SetOobInline(bool on)
    {
        var c = OsConstants.Current;
        return Ws2_32.SetOption(_socket, c.SOL_SOCKET, c.SO_OOBINLINE, on ? 1 : 0);
    }

    public override void Dispose()
    {
        var s = Interlocked.Exchange(ref _socket, WinsockConstants.INVALID_SOCKET);
        if (s != WinsockConstants.INVALID_SOCKET)
        {
            _ = Ws2_32.CloseSocket(s);
        }
    }
}
