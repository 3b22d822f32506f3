using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using EchoServer.Reactor.Pollers;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// --keepalive on a real kernel: a client in its own network namespace (<see cref="NetworkNamespace"/>) vanishes without
/// a FIN (nft drops everything in and out of it), idle or while owed bytes, and the server closes it within the bound.
/// </summary>
public sealed partial class VanishedPeerTests
{
    // Probes after 2 s of quiet, one a second, three of them: found within 2 + 3 x 1 = 5 s, idle or owed.
    private const string KeepAlive = "2s:1s:3";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    // Kernel timers tick in jiffies and the last probe's answer is awaited one interval; the log line takes a moment.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1.5);

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task An_idle_client_that_vanished_is_closed_within_the_keepalive_bound(PollerKind poller)
    {
        await using var peer = await ClientInNamespace.ConnectAsync(poller, "--keepalive", KeepAlive);

        var (closed, detected) = await VanishAndAwaitCloseAsync(peer);
        TestContext.Current.TestOutputHelper?.WriteLine($"{poller}: vanished idle client closed after {detected.TotalSeconds:F2} s (bound {Bound.TotalSeconds} s): {closed}");

        detected.Should().BeLessThan(Bound + Slack, "idle + count x interval bounds it");
        detected.Should().BeGreaterThan(TimeSpan.FromSeconds(2), "the first probe waits for the idle time");
        AssertTimedOut(poller, closed);
    }

    [Theory]
    [MemberData(nameof(ServerPollers.All), MemberType = typeof(ServerPollers))]
    public async Task A_client_that_stopped_reading_and_vanished_while_owed_bytes_is_closed_within_the_bound(PollerKind poller)
    {
        await using var peer = await ClientInNamespace.ConnectAsync(poller, "--keepalive", KeepAlive);
        var sent = await SendUntilBackedUpAsync(peer.Client);
        var serverSide = ProcNetTcp.Find(peer.ServerEnd, peer.ClientEnd);
        serverSide.Should().NotBeNull("the server's socket is in this namespace's /proc/net/tcp");
        serverSide!.Value.SendQueue.Should().BePositive("the server's kernel holds echoed bytes the client did not read");

        var (closed, detected) = await VanishAndAwaitCloseAsync(peer);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{poller}: client that sent {sent} bytes, read none and vanished closed after {detected.TotalSeconds:F2} s "
            + $"(kernel send queue {serverSide.Value.SendQueue} bytes; bound {Bound.TotalSeconds} s): {closed}");

        // Keepalive does not probe while bytes are unacknowledged: the unacknowledged-data timeout is what ends it.
        detected.Should().BeLessThan(Bound + Slack);
        AssertTimedOut(poller, closed);
    }

    [Fact]
    public async Task A_client_that_stays_but_reads_nothing_for_the_whole_bound_while_owed_bytes_is_closed_too()
    {
        // Linux counts a closed receive window as no progress (TCP_USER_TIMEOUT covers zero-window probes): on the wire a
        // client that keeps its window shut is one that vanished with it shut. docs/design.md, "Vanished peers".
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the zero-window rule is Linux's TCP_USER_TIMEOUT");
        await using var server = await ServerProcess.StartAsync("--keepalive", KeepAlive, "--log-level", "debug");
        using var client = await Client.ConnectAsync(server);
        await SendUntilBackedUpAsync(client);

        var clock = Stopwatch.StartNew();
        var closed = await server.WaitForStdoutLineAsync(l => l.Contains("closed: ", StringComparison.Ordinal), Bound + Patience.Short,
            "the server closes the client that reads nothing");
        TestContext.Current.TestOutputHelper?.WriteLine($"present client reading nothing closed {clock.Elapsed.TotalSeconds:F2} s after its sends backed up: {closed}");

        clock.Elapsed.Should().BeLessThan(Bound + Slack);
        ClosedReason().Match(closed).Groups["reason"].Value.Should().Be("PeerTimedOut");
    }

    [Fact]
    public async Task With_keepalive_off_a_vanished_client_stays_open_past_the_bound()
    {
        await using var peer = await ClientInNamespace.ConnectAsync(PollerKind.Epoll, "--keepalive", "off");

        await peer.Namespace.VanishAsync();
        await Task.Delay(Bound + Slack, TestContext.Current.CancellationToken); // the claim is that time passes with nothing happening

        ProcNetTcp.Find(peer.ServerEnd, peer.ClientEnd).Should().NotBeNull("without keepalive nothing tells the server the client is gone");
        peer.Server.StdoutLines.Should().NotContain(l => l.Contains("closed: ", StringComparison.Ordinal));
    }

    /// <summary>Drops everything in and out of the namespace, then waits for the server's <c>closed:</c> line: the line and how long it took.</summary>
    private static async Task<(string Line, TimeSpan After)> VanishAndAwaitCloseAsync(ClientInNamespace peer)
    {
        await peer.Namespace.VanishAsync();
        var clock = Stopwatch.StartNew();
        var closed = await peer.Server.WaitForStdoutLineAsync(l => l.Contains("closed: ", StringComparison.Ordinal), Bound + Patience.Short,
            "the server closes the vanished client");
        return (closed, clock.Elapsed);
    }

    /// <summary>
    /// Sends without reading until nothing more goes (the client's receive buffer, the server's send buffer, what the
    /// server keeps and its receive buffer are full); returns the bytes sent.
    /// </summary>
    private static async Task<long> SendUntilBackedUpAsync(Socket client)
    {
        client.Blocking = false;
        var chunk = new byte[64 * 1024];
        Random.Shared.NextBytes(chunk);
        long sent = 0;
        var sinceProgress = Stopwatch.StartNew();
        await Wait.UntilAsync(
            () =>
            {
                while (client.Send(chunk, 0, chunk.Length, SocketFlags.None, out var error) is var n && n > 0 && error == SocketError.Success)
                {
                    sent += n;
                    sinceProgress.Restart();
                }

                return sinceProgress.Elapsed > TimeSpan.FromSeconds(1);
            },
            Patience.Io,
            "the client's sends back up",
            () => $"{sent} bytes sent");
        return sent;
    }

    private static void AssertTimedOut(PollerKind poller, string closed)
    {
        // epoll hands read() the kernel's ETIMEDOUT; libkqueue reads SO_ERROR itself to report the end, so over it the
        // same close shows as a reset (docs/design.md, "kqueue over libkqueue").
        var reason = ClosedReason().Match(closed).Groups["reason"].Value;
        if (poller == PollerKind.Kqueue && OperatingSystem.IsLinux())
        {
            reason.Should().BeOneOf("PeerTimedOut", "ClientReset");
        }
        else
        {
            reason.Should().Be("PeerTimedOut");
        }
    }

    [GeneratedRegex(@"closed: (?<reason>\w+)")]
    private static partial Regex ClosedReason();

    /// <summary>A server on the host side of a fresh namespace's veth, with Debug logs, and one client inside that it has echoed to.</summary>
    private sealed class ClientInNamespace(NetworkNamespace ns, ServerProcess server, Socket client) : IAsyncDisposable
    {
        public NetworkNamespace Namespace => ns;

        public ServerProcess Server => server;

        public Socket Client => client;

        public IPEndPoint ServerEnd => new(ns.HostAddress, server.Port);

        public IPEndPoint ClientEnd => (IPEndPoint)client.LocalEndPoint!;

        public static async Task<ClientInNamespace> ConnectAsync(PollerKind poller, params string[] args)
        {
            var ns = await NetworkNamespace.CreateAsync();
            ServerProcess? server = null;
            Socket? client = null;
            try
            {
                server = await ServerProcess.StartAsync(poller, ["--bind", $"{ns.HostAddress}:0", "--log-level", "debug", .. args]);
                client = ns.Connect(server.EndPoint, Patience.Short);
                await Tests.Client.AssertEchoesAsync(client, "here, for now\n");
                return new ClientInNamespace(ns, server, client);
            }
            catch
            {
                client?.Dispose();
                if (server is not null)
                {
                    await server.DisposeAsync();
                }

                await ns.DisposeAsync();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            client.Dispose();
            await server.DisposeAsync();
            await ns.DisposeAsync();
        }
    }
}
