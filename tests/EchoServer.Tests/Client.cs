using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EchoServer.Tests;

/// <summary>Loopback client helpers with bounded waits.</summary>
internal static class Client
{
    public static async Task<Socket> ConnectAsync(IPEndPoint endPoint, TimeSpan? timeout = null)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var cts = new CancellationTokenSource(timeout ?? Patience.Io);
            await socket.ConnectAsync(endPoint, cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static Task<Socket> ConnectAsync(ServerProcess server) => ConnectAsync(server.EndPoint);

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Patience.Io);
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, SocketFlags.None, cts.Token);
            data = data[n..];
        }
    }

    /// <summary>Reads exactly <paramref name="count"/> bytes; fails on EOF before that or after the timeout.</summary>
    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int count, TimeSpan? timeout = null)
    {
        var buffer = new byte[count];
        using var cts = new CancellationTokenSource(timeout ?? Patience.Io);
        var read = 0;
        try
        {
            while (read < count)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    throw new EndOfStreamException($"EOF after {read} of {count} bytes");
                }

                read += n;
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"read {read} of {count} bytes within {timeout ?? Patience.Io}");
        }

        return buffer;
    }

    /// <summary>Reads until EOF (a read returning 0); fails after the timeout.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket socket, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Patience.Io);
        using var all = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return all.ToArray();
                }

                all.Write(buffer, 0, n);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no EOF within {timeout ?? Patience.Io} (read {all.Length} bytes)");
        }
    }

    /// <summary>
    /// Waits for the server to end the connection without sending anything more: returns "EOF" (a read
    /// returned 0) or "reset" (ECONNRESET). Fails if data arrives, or with <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public static async Task<string> ReadEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[256];
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return n == 0 ? "EOF" : throw new InvalidOperationException($"expected the end of the connection, got {n} bytes");
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return "reset";
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the connection was still open after {timeout}");
        }
    }

    /// <summary>Sends <paramref name="text"/> and expects the same bytes back.</summary>
    public static async Task AssertEchoesAsync(Socket socket, string text, TimeSpan? timeout = null)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await SendAllAsync(socket, bytes, timeout);
        var back = await ReadExactlyAsync(socket, bytes.Length, timeout);
        if (!back.AsSpan().SequenceEqual(bytes))
        {
            throw new InvalidOperationException($"sent '{text}', got '{Encoding.ASCII.GetString(back)}'");
        }
    }

    /// <summary>A fresh connection that sends <paramref name="text"/> and gets it back.</summary>
    public static async Task AssertEchoesAsync(ServerProcess server, string text, TimeSpan? timeout = null)
    {
        using var socket = await ConnectAsync(server.EndPoint, timeout);
        await AssertEchoesAsync(socket, text, timeout);
    }
}
