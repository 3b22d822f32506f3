using System.Net;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Examples;

// The library example from README.md ("Using the library"), kept compiling and tested here so it cannot
// rot: a discard server (RFC 863) that counts what it reads. Keep the two in step.

/// <summary>Accepts until EAGAIN (edge-triggered) and hands each client to a <see cref="Discarder"/>.</summary>
public sealed class Acceptor(TcpListener listener) : IReadinessHandler
{
    public long BytesDiscarded { get; set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        while (listener.TryAccept(out var socket, out var errno))
        {
            var client = new Discarder(socket, this);
            client.Token = eventLoop.Register(socket.Source, Interest.Readable, client);
        }

        // errno is EAGAIN here when the queue is drained; a real server backs off on EMFILE (see EchoListener).
    }

    public void Dispose() => listener.Dispose();
}

/// <summary>Reads until EAGAIN on every edge; closes at end of stream or on error.</summary>
public sealed class Discarder(StreamSocket socket, Acceptor owner) : IReadinessHandler
{
    private readonly byte[] _buffer = new byte[64 * 1024];

    public Token Token { get; set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        while (true)
        {
            var n = socket.Read(_buffer, out var errno);
            if (n > 0)
            {
                owner.BytesDiscarded += n;
                continue;
            }

            if (n < 0 && errno.IsWouldBlock)
            {
                return; // drained: the next edge comes when more data arrives
            }

            eventLoop.Deregister(token); // end of stream (n == 0) or an error: deregister, then close
            socket.Dispose();
            return;
        }
    }

    public void Dispose() => socket.Dispose();
}

public sealed class DiscardServerExampleTests
{
    [Fact]
    public void The_readme_example_discards_what_clients_send_and_closes_when_they_finish()
    {
        using var loop = EventLoop.Create();
        var listener = TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var acceptor = new Acceptor(listener);
        loop.Register(listener.Source, Interest.Readable, acceptor);

        var thread = new Thread(loop.Run) { IsBackground = true };
        thread.Start();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                using var client = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                client.Connect(listener.LocalEndPoint);
                client.Send(new byte[100_000]);
                client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                client.ReceiveTimeout = (int)Patience.Short.TotalMilliseconds;
                Assert.Equal(0, client.Receive(new byte[1])); // the server closes after reading everything
            }
        }
        finally
        {
            loop.Stop();
            Assert.True(thread.Join(Patience.Short));
        }

        Assert.Equal(300_000, acceptor.BytesDiscarded);
        Assert.Equal(1, loop.RegisteredCount); // only the listener is left: every client was deregistered
    }
}
