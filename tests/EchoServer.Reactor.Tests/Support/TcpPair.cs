using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using TcpListener = EchoServer.Reactor.Net.TcpListener;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>A connected loopback pair made of the library's own sockets: one accepted, one connected.</summary>
/// <remarks>
/// <see cref="StreamSocket"/> is a value: closing a copy twice would close whatever took the descriptor number in between
/// (another test's socket). So a test closes a side through <see cref="CloseAccepted"/> or <see cref="ClosePeer"/>, once,
/// and <see cref="Dispose"/> closes only what is still open.
/// </remarks>
internal sealed class TcpPair : IDisposable
{
    private bool _acceptedOpen = true;
    private bool _peerOpen = true;

    private TcpPair(StreamSocket accepted, StreamSocket peer)
    {
        Accepted = accepted;
        Peer = peer;
    }

    /// <summary>The server side, from <see cref="IStreamListener.TryAccept"/>.</summary>
    public StreamSocket Accepted { get; }

    /// <summary>The client side, from <see cref="StreamSocket.Connect"/>.</summary>
    public StreamSocket Peer { get; }

    public static TcpPair Open()
    {
        using var listener = Loopback.Listen();
        var peer = StreamSocket.Connect(listener.LocalEndPoint);
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

    public void CloseAccepted()
    {
        if (_acceptedOpen)
        {
            _acceptedOpen = false;
            Accepted.Dispose();
        }
    }

    public void ClosePeer()
    {
        if (_peerOpen)
        {
            _peerOpen = false;
            Peer.Dispose();
        }
    }

    public void Dispose()
    {
        CloseAccepted();
        ClosePeer();
    }
}

/// <summary>An accepted library socket whose peer is a blocking <see cref="Socket"/> (for a peer that must wait).</summary>
internal sealed class SystemPeerPair : IDisposable
{
    private SystemPeerPair(StreamSocket accepted, Socket peer)
    {
        Accepted = accepted;
        Peer = peer;
    }

    public StreamSocket Accepted { get; }

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
    public static StreamSocket AcceptWithin(TcpListener listener)
    {
        StreamSocket accepted = default;
        var ok = false;
        var errno = Errno.None;
        Wait.Until(
            () =>
            {
                ok = listener.TryAccept(out accepted, out errno);
                return ok || !errno.IsWouldBlock;
            },
            Patience.Short,
            "the loopback handshake reaches the accept queue",
            () => $"last accept: {errno}");
        return ok ? accepted : throw new InvalidOperationException($"accept failed: {errno}");
    }

    /// <summary>Writes all of <paramref name="data"/> (small enough for the socket buffer) or fails.</summary>
    public static void WriteAll(StreamSocket socket, ReadOnlySpan<byte> data)
    {
        var n = socket.Write(data, out var errno);
        Assert.True(n == data.Length, $"write returned {n} ({errno}), expected {data.Length}");
    }

    /// <summary>Reads until EAGAIN (or end of stream); returns the bytes read.</summary>
    public static byte[] ReadUntilWouldBlock(StreamSocket socket, out Errno last)
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

    /// <summary>How many fds this process has open (/proc/self/fd on Linux, /dev/fd on the BSDs and macOS; handles on Windows).</summary>
    public static int OpenFdCount()
    {
        if (OperatingSystem.IsWindows())
        {
            using var self = System.Diagnostics.Process.GetCurrentProcess();
            return self.HandleCount;
        }

        var dir = Directory.Exists("/proc/self/fd") ? "/proc/self/fd" : "/dev/fd";
        return Directory.GetFileSystemEntries(dir).Length;
    }
}
