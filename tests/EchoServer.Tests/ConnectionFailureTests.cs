using EchoServer.Reactor.Net;
using System.Net;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;
using FluentAssertions;
using Microsoft.Extensions.Logging;

namespace EchoServer.Tests;

/// <summary>
/// A connection whose handling throws (a bug, a failing log provider) is closed and counted out exactly once, so it
/// neither keeps a --max-connections slot nor holds the SIGTERM drain, which waits for the active count to reach 0.
/// </summary>
public sealed class ConnectionFailureTests
{
    [Fact]
    public void A_connection_whose_handling_throws_is_closed_and_counted_out_once()
    {
        using var loop = EventLoop.Create(PollerKind.Auto);
        using var context = new EchoContext(new EchoOptions(), new ThrowingLogger(), new ConnectionGate(1));

        // A listening socket stands in for the client's: read(2) on it fails with ENOTCONN, an error that is not
        // a reset, which the connection logs at Debug level; the logger throws. The fd passes to the connection.
        var listening = EchoServer.Reactor.Net.TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // not disposed: the connection owns its fd
        var socket = new StreamSocket(listening.Source);

        // Admitted as EchoListener admits a client.
        context.Gate.TryEnter(out _).Should().BeTrue();
        context.Counters.Active++;
        var connection = new EchoConnection(socket, context, loop);
        var token = loop.Register(socket.Source, Interest.ReadWrite, connection);

        var serve = () => connection.OnReady(loop, token, Readiness.Readable);
        serve.Should().Throw<InvalidOperationException>("the loop must still see the failure, to report it");

        loop.IsRegistered(token).Should().BeFalse();
        context.Counters.Active.Should().Be(0);
        context.Gate.Open.Should().Be(0, "the --max-connections slot is free again");
        context.Counters.Closed(CloseReason.Error).Should().Be(1);

        connection.Dispose(); // what the loop does next with a handler that threw
        context.Counters.Active.Should().Be(0, "counted out once");
        context.Gate.TryEnter(out _).Should().BeTrue("a new client gets the slot");
    }

    private sealed class ThrowingLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            throw new InvalidOperationException("the log provider failed");
    }
}
