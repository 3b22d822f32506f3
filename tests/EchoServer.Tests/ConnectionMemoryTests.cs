using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;

namespace EchoServer.Tests;

/// <summary>
/// What an idle connection costs in managed memory: one 56-byte <see cref="EchoConnection"/>, no other object
/// (docs/design.md, "Memory per idle connection"; the referee's idle scenario measures the whole process).
/// </summary>
public sealed class ConnectionMemoryTests
{
    private const int Connections = 1000;

    [Fact]
    public void An_idle_connection_is_one_56_byte_object()
    {
        var perConnection = BytesPerConnection(new EchoOptions(), peer: null);

        perConnection.Should().Be(56, "header 16 + context, owed and extras references 24 + last activity 8 + fd 4 + four flags 4");
    }

    [Fact]
    public void With_an_idle_timeout_the_timer_state_is_allocated_only_then()
    {
        var perConnection = BytesPerConnection(new EchoOptions { IdleTimeout = TimeSpan.FromMinutes(5) }, peer: null);

        perConnection.Should().BeGreaterThan(56, "the idle timer needs its delegate, its extras and its queue entry");
    }

    private static double BytesPerConnection(EchoOptions options, string? peer)
    {
        using var loop = EventLoop.Create(PollerKind.Auto);
        using var context = new EchoContext(options, NullLogger.Instance, new ConnectionGate(0));
        var connections = new EchoConnection[Connections];

        // Warm up once so that first-call costs (static constructors, the timer queue's first arrays) are not counted.
        using (var warm = new EchoConnection(default, context, loop))
        {
            warm.Start(loop, new Token(1), peer);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Connections; i++)
        {
            connections[i] = new EchoConnection(default, context, loop);
            connections[i].Start(loop, new Token((ulong)i + 2), peer);
        }

        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(connections);
        return (after - before) / (double)Connections;
    }
}
