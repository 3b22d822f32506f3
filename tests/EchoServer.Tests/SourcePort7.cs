using System.Net;
using System.Net.Sockets;

namespace EchoServer.Tests;

/// <summary>
/// A UDP socket bound to 127.0.0.1:7, the echo port a UDP echo server must never answer. Tests in this assembly run
/// in parallel and only one socket can hold the port, so a holder waits for the previous one to be disposed.
/// </summary>
internal sealed class SourcePort7 : IDisposable
{
    private static readonly SemaphoreSlim Held = new(1, 1);
    private int _disposed;

    private SourcePort7(Socket socket) => Socket = socket;

    public Socket Socket { get; }

    /// <summary>Binds the port once the previous holder let go; fails the test, saying why, where binding is refused.</summary>
    public static async Task<SourcePort7> BindAsync(CancellationToken ct)
    {
        if (!await Held.WaitAsync(Patience.Bulk, ct))
        {
            Assert.Fail("another test held UDP 127.0.0.1:7 for over 30 s");
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds };
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 7));
            return new SourcePort7(socket);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            Held.Release();
            Assert.Fail($"could not bind UDP 127.0.0.1:7 as the source port ({e.SocketErrorCode}: {e.Message}); "
                + "this test needs root or CAP_NET_BIND_SERVICE and no other program on port 7");
            throw;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Socket.Dispose();
            Held.Release();
        }
    }
}
