using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using TcpListener = EchoServer.Reactor.Net.TcpListener;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>A connected loopback pair made of the library's own sockets: one accepted, one connected.</summary>
internal sealed class TcpPair : IDisposable
{
    private TcpPair(TcpSocket accepted, TcpSocket peer)
    {
        Accepted = accepted;
        Peer = peer;
    }

    /// <summary>The server side, from <see cref="StreamListenerExtensions.AcceptSocket"/>.</summary>
    public TcpSocket Accepted { get; }

    /// <summary>The client side, from <see cref="TcpSocket.Connect"/>.</summary>
    public TcpSocket Peer { get; }

    public static TcpPair Open()
    {
        using var listener = Loopback.Listen();
        var peer = TcpSocket.Connect(listener.LocalEndPoint);
        try
        {
            // Accepted means the handshake is complete, so the client side is connected too.
            return new TcpPair(Loopback.AcceptWithin(listener), peer);
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Accepted.Dispose();
        Peer.Dispose();
    }
}

/// <summary>An accepted library socket whose peer is a blocking <see cref="Socket"/> (for a peer that must wait).</summary>
internal sealed class SystemPeerPair : IDisposable
{
    private SystemPeerPair(TcpSocket accepted, Socket peer)
    {
        Accepted = accepted;
        Peer = peer;
    }

    public TcpSocket Accepted { get; }

    public Socket Peer { get; }

    public static SystemPeerPair Open()
    {
        using var listener = Loopback.Listen();
        var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            ReceiveTimeout = (int)Patience.Short.TotalMilliseconds,
            SendTimeout = (int)Patience.Short.TotalMilliseconds,
        };
        try
        {
            peer.Connect(listener.LocalEndPoint);
            return new SystemPeerPair(Loopback.AcceptWithin(listener), peer);
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Accepted.Dispose();
        Peer.Dispose();
    }
}

internal static class Loopback
{
    public static TcpListener Listen() => TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    /// <summary>Accepts one connection, waiting (without a poller) until the handshake has reached the queue.</summary>
    public static TcpSocket AcceptWithin(TcpListener listener)
    {
        TcpSocket? accepted = null;
        var errno = Errno.None;
        Wait.Until(
            () =>
            {
                accepted = listener.AcceptSocket(out errno);
                return accepted is not null || !errno.IsWouldBlock;
            },
            Patience.Short,
            "the loopback handshake reaches the accept queue",
            () => $"last accept: {errno}");
        return accepted ?? throw new InvalidOperationException($"accept failed: {errno}");
    }

    /// <summary>Writes all of <paramref name="data"/> (small enough for the socket buffer) or fails.</summary>
    public static void WriteAll(TcpSocket socket, ReadOnlySpan<byte> data)
    {
        var n = socket.Write(data, out var errno);
        Assert.True(n == data.Length, $"write returned {n} ({errno}), expected {data.Length}");
    }

    /// <summary>Reads until EAGAIN (or end of stream); returns the bytes read.</summary>
    public static byte[] ReadUntilWouldBlock(TcpSocket socket, out Errno last)
    {
        var all = new List<byte>();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var n = socket.Read(buffer, out last);
            if (n <= 0)
            {
                return [.. all];
            }

            all.AddRange(buffer.AsSpan(0, n));
        }
    }

    /// <summary>How many fds this process has open (/proc/self/fd on Linux, /dev/fd on the BSDs and macOS).</summary>
    public static int OpenFdCount()
    {
        var dir = Directory.Exists("/proc/self/fd") ? "/proc/self/fd" : "/dev/fd";
        return Directory.GetFileSystemEntries(dir).Length;
    }
}
