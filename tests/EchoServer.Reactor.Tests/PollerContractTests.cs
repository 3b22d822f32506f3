using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Tests.Support;
using EchoServer.TestSupport;
using FluentAssertions;
using static EchoServer.Reactor.Tests.Support.PollAssert;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The <see cref="IPoller"/> contract, written once for every backend (after mio's tests/poll.rs,
/// tcp.rs, tcp_stream.rs, tcp_listener.rs, registering.rs, waker.rs and regressions.rs). A backend's
/// test class derives from this and supplies <see cref="CreatePoller"/>. Nothing here may depend on
/// one OS: where backends legitimately differ, the expectation is an abstract property.
/// </summary>
public abstract class PollerContractTests : IDisposable
{
    private static readonly Token T1 = new(1);
    private static readonly Token T2 = new(2);
    private static readonly Token T3 = new(3);
    private static readonly Token WakerToken = new(0xFFFF_0000_0000_0001);

    private readonly List<IDisposable> _owned = [];
    private readonly PollEvent[] _buffer = new PollEvent[64];
    private readonly Lock _pollerLock = new();
    private IPoller? _poller;

    /// <summary>Creates the backend under test.</summary>
    protected abstract IPoller CreatePoller();

    /// <summary>
    /// Whether a local shutdown(SHUT_WR) is reported as <see cref="Readiness.WriteClosed"/>. kqueue does
    /// (EV_EOF on the write filter); epoll does not (mio ignores tcp_shutdown_client_write_close_event on Linux).
    /// </summary>
    protected abstract bool ReportsWriteClosedOnLocalShutdownWrite { get; }

    /// <summary>
    /// Whether reporting a socket error also clears it from SO_ERROR. Kernels do not (the error is in the
    /// event and stays in SO_ERROR); libkqueue reads SO_ERROR to fill <c>fflags</c>, which clears it.
    /// </summary>
    protected virtual bool ClearsTheSocketErrorItReports => false;

    /// <summary>
    /// Whether a peer's FIN is reported (<see cref="Readiness.ReadClosed"/>) while data sent before it is still unread.
    /// Kernels do; Wine's AFD emulation sees the end of stream only once the data before it has been read.
    /// </summary>
    protected virtual bool ReportsEndOfStreamBehindUnreadData => true;

    /// <summary>How the backend names the call that refuses a reregister and a deregister of a source it does not hold.</summary>
    protected abstract (string Reregister, string Deregister) CallsRefusingAnUnregisteredSource { get; }

    /// <summary>The poller under test, created on first use and disposed with the test.</summary>
    /// <remarks>
    /// Under a lock: tests touch it from helper threads too, and an unguarded <c>??=</c> once let a helper
    /// create a second poller, register there, and leave the test's wait on the first to time out.
    /// </remarks>
    protected IPoller Poller
    {
        get
        {
            lock (_pollerLock)
            {
                return _poller ??= CreatePoller();
            }
        }
    }

    private T Own<T>(T resource)
        where T : IDisposable
    {
        _owned.Add(resource);
        return resource;
    }

    private TcpPair OpenPair() => Own(TcpPair.Open());

    // ---- poll.rs -----------------------------------------------------------------------------------

    [Fact]
    public void Wait_with_nothing_registered_returns_zero_after_its_timeout()
    {
        var clock = Stopwatch.StartNew();
        var n = Poller.Wait(_buffer, 100);
        clock.Stop();

        n.Should().Be(0);
        clock.ElapsedMilliseconds.Should().BeGreaterThanOrEqualTo(90, "the wait must last its timeout");
        clock.ElapsedMilliseconds.Should().BeLessThan(3000);
    }

    [Fact]
    public void Wait_with_zero_timeout_and_nothing_ready_returns_zero_at_once()
    {
        using var pair = TcpPair.Open();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);

        var clock = Stopwatch.StartNew();
        var n = Poller.Wait(_buffer, 0);

        n.Should().Be(0);
        clock.ElapsedMilliseconds.Should().BeLessThan(1000);
    }

    [Fact]
    public void Zero_timeout_still_returns_ready_events()
    {
        var pair = OpenPair();

        // A connected socket with an empty send buffer is writable from the moment it is registered.
        Poller.Register(pair.Accepted.Source, T1, Interest.Writable);
        var n = Poller.Wait(_buffer, 0);

        _buffer.Take(n).Should().Contain(e => e.Token == T1 && (e.Readiness & Readiness.Writable) != 0);
    }

    [Fact]
    public void A_small_buffer_returns_the_remaining_events_on_the_next_waits()
    {
        var tokens = new[] { T1, T2, T3 };
        foreach (var token in tokens)
        {
            Poller.Register(OpenPair().Accepted.Source, token, Interest.Writable);
        }

        var one = new PollEvent[1];
        var seen = new HashSet<Token>();
        for (var i = 0; i < 10 && seen.Count < tokens.Length; i++)
        {
            var n = Poller.Wait(one, 500);
            n.Should().BeLessThanOrEqualTo(1);
            if (n == 1)
            {
                seen.Add(one[0].Token);
            }
        }

        seen.Should().BeEquivalentTo(tokens);
    }

    [Fact]
    public void More_ready_sockets_than_a_wait_returns_are_all_reported_over_the_next_waits()
    {
        // Registered for both directions and readable, each socket is two kqueue events; a batch of 8 holds at
        // most 8 of them, and no edge may be lost past it (libkqueue drops them, and the kqueue backend makes up for
        // it: docs/design.md, "kqueue over libkqueue").
        ExpectEveryReadySocketReported(sockets: 24, batch: 8);
    }

    [Fact]
    public void More_ready_sockets_than_a_large_buffer_can_take_from_one_wait_are_all_reported()
    {
        // 300 sockets ready both ways are 600 kqueue events, past the 512 that libkqueue's kevent() returns at most
        // whatever room it is given (docs/design.md, "kqueue over libkqueue", point 6).
        ExpectEveryReadySocketReported(sockets: 300, batch: 1024);
    }

    // Registers that many readable and writable sockets, then waits with batches of that size until each has been
    // reported readable.
    private void ExpectEveryReadySocketReported(int sockets, int batch)
    {
        var tokens = Enumerable.Range(1000, sockets).Select(i => new Token((ulong)i)).ToList();
        foreach (var token in tokens)
        {
            var pair = OpenPair();
            Poller.Register(pair.Accepted.Source, token, Interest.Readable | Interest.Writable);
            Loopback.WriteAll(pair.Peer, "x"u8);
        }

        var events = new PollEvent[batch];
        var readable = new HashSet<Token>();
        Wait.Until(
            () =>
            {
                var n = Poller.Wait(events, 50);
                readable.UnionWith(events.Take(n).Where(e => (e.Readiness & Readiness.Readable) != 0).Select(e => e.Token));
                return readable.Count == tokens.Count;
            },
            Patience.Short,
            "every readable socket is reported",
            () => $"reported readable: {readable.Count} of {tokens.Count}");
    }

    [Fact]
    public void Readiness_is_reregistered_after_would_block()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);

        Loopback.WriteAll(pair.Peer, "hello"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        Loopback.ReadUntilWouldBlock(pair.Accepted, out var errno).Should().Equal("hello"u8.ToArray());
        errno.IsWouldBlock.Should().BeTrue();

        ExpectNoEvents(Poller, T1);

        Loopback.WriteAll(pair.Peer, "again"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        Loopback.ReadUntilWouldBlock(pair.Accepted, out errno).Should().Equal("again"u8.ToArray());
        errno.IsWouldBlock.Should().BeTrue();
    }

    [Fact]
    public void A_short_read_counts_as_drained_and_later_data_raises_a_new_edge()
    {
        // An owner may stop at a read that returns less than its buffer, without the read that would return would-block
        // (netty's edge-triggered transport does, and so does the echo server): the next data must still raise an edge.
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        var buffer = new byte[64];

        Loopback.WriteAll(pair.Peer, "hello"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        pair.Accepted.Read(buffer, out _).Should().Be(5, "all of it, in a read shorter than the buffer");

        Loopback.WriteAll(pair.Peer, "again"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        pair.Accepted.Read(buffer, out _).Should().Be(5);
    }

    [Fact]
    public void An_edge_is_reported_once_while_nothing_changes_even_if_not_drained()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);

        Loopback.WriteAll(pair.Peer, "unread"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));

        // Edge-triggered: the data is still there, but nothing new happened.
        ExpectNoEvents(Poller, T1);
        Loopback.ReadUntilWouldBlock(pair.Accepted, out _).Should().Equal("unread"u8.ToArray());
    }

    [Fact]
    public void Reregister_replaces_interest_and_token()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        ExpectNoEvents(Poller);

        // Readable -> Writable under a new token: the writable edge comes with the new token only.
        Poller.Reregister(pair.Accepted.Source, T2, Interest.Writable);
        var seen = ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Writable));
        seen.Should().NotContain(e => e.Token == T1);

        // Writable -> Readable under a third token: data is reported with it, and never with the old ones.
        Poller.Reregister(pair.Accepted.Source, T3, Interest.Readable);
        Loopback.WriteAll(pair.Peer, "x"u8);
        seen = ExpectEvents(Poller, new ExpectedEvent(T3, Readiness.Readable));
        seen.Should().NotContain(e => e.Token == T1 || e.Token == T2);
        seen.Where(e => e.Token == T3).Should().OnlyContain(e => (e.Readiness & Readiness.Writable) == 0);
    }

    [Fact]
    public void Reregistering_a_listener_from_readable_to_writable_before_polling_reports_nothing()
    {
        using var listener = Loopback.Listen();
        Poller.Register(listener.Source, T1, Interest.Readable);
        Poller.Reregister(listener.Source, T1, Interest.Writable);

        using var client = StreamSocket.Connect(listener.LocalEndPoint);
        ExpectNoEvents(Poller, T1);
        Poller.Deregister(listener.Source);
    }

    [Fact]
    public void Deregister_stops_events_even_as_data_flows()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        Loopback.WriteAll(pair.Peer, "one"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        Loopback.ReadUntilWouldBlock(pair.Accepted, out _);

        Poller.Deregister(pair.Accepted.Source);
        Loopback.WriteAll(pair.Peer, "two"u8);
        ExpectNoEvents(Poller);

        // The data did flow: it is there to read.
        Wait.Until(() => Loopback.ReadUntilWouldBlock(pair.Accepted, out _).Length > 0, Patience.Short, "the bytes written after deregister can be read");
    }

    [Fact]
    public void Registering_again_after_deregister_reports_events()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        Poller.Deregister(pair.Accepted.Source);
        Poller.Register(pair.Accepted.Source, T2, Interest.Readable);

        Loopback.WriteAll(pair.Peer, "x"u8);
        var seen = ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Readable));
        seen.Should().NotContain(e => e.Token == T1);
    }

    [Fact]
    public void Register_from_another_thread_wakes_a_blocked_wait()
    {
        var pair = OpenPair();
        using var waiting = new ManualResetEventSlim();
        var registrar = OtherThread.Start(() =>
        {
            waiting.Wait(Patience.Short).Should().BeTrue("the test thread is about to block in Wait");
            Poller.Register(pair.Accepted.Source, T1, Interest.Writable);
        });

        waiting.Set();
        var clock = Stopwatch.StartNew();
        var n = Poller.Wait(_buffer, 5000);
        registrar.Join(); // first, so a failed Register shows as itself

        n.Should().BeGreaterThan(0);
        _buffer.Take(n).Should().Contain(e => e.Token == T1);
        clock.ElapsedMilliseconds.Should().BeLessThan(4000);
    }

    [Fact]
    public void Registration_changes_never_consume_another_fd_s_pending_event()
    {
        // A kevent() call carrying EV_RECEIPT changes returns pending events after the receipts when its event
        // list has room (libkqueue does; docs/design.md): such an edge would be lost to the caller for good.
        var pending = OpenPair();
        var other = OpenPair();
        Poller.Register(pending.Accepted.Source, T1, Interest.Readable);
        Loopback.WriteAll(pending.Peer, "x"u8);

        Poller.Register(other.Accepted.Source, T2, Interest.ReadWrite);
        Poller.Reregister(other.Accepted.Source, T2, Interest.Readable);
        Poller.Deregister(other.Accepted.Source);
        using var waker = Poller.CreateWaker(WakerToken);
        waker.Wake();

        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable), new ExpectedEvent(WakerToken, Readiness.Readable));
    }

    // ---- level-triggered registrations (Interest.LevelTriggered) --------------------------------------

    [Fact]
    public void Level_triggered_readable_is_reported_on_every_wait_while_data_remains_and_not_after_it_is_drained()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable | Interest.LevelTriggered);
        ExpectNoEvents(Poller, T1);

        Loopback.WriteAll(pair.Peer, "abc"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));

        // Nothing changed, but the data is still there: reported again (edge-triggered would stay quiet).
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        pair.Accepted.Read(new byte[1], out _).Should().Be(1, "a partial read leaves data behind");
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));

        Loopback.ReadUntilWouldBlock(pair.Accepted, out var errno).Should().Equal("bc"u8.ToArray());
        errno.IsWouldBlock.Should().BeTrue();
        ExpectNoEvents(Poller, T1);
    }

    [Fact]
    public void Level_triggered_end_of_stream_is_reported_until_read_interest_is_dropped()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable | Interest.LevelTriggered);
        pair.Peer.ShutdownWrite().Should().Be(Errno.None);

        // The owner cannot act on an end of stream it has already read: it keeps being told until it drops the interest.
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable | Readiness.ReadClosed));
        pair.Accepted.Read(new byte[16], out _).Should().Be(0);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.ReadClosed));

        // Writable only, level: reported while the send buffer has room, never readable or read-closed again.
        Poller.Reregister(pair.Accepted.Source, T2, Interest.Writable | Interest.LevelTriggered);
        var seen = ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Writable));
        seen.AddRange(ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Writable)));
        seen.Where(e => e.Token == T2).Should().OnlyContain(e => (e.Readiness & (Readiness.Readable | Readiness.ReadClosed)) == 0);
        seen.Should().NotContain(e => e.Token == T1);
    }

    [Fact]
    public void Reregister_switches_between_edge_and_level_without_losing_readiness()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        Loopback.WriteAll(pair.Peer, "unread"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        ExpectNoEvents(Poller, T1);

        // Edge -> level: the unread data is reported, and again on the next wait.
        Poller.Reregister(pair.Accepted.Source, T2, Interest.Readable | Interest.LevelTriggered);
        ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Readable));
        ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Readable));

        // Level -> edge: the switch re-arms it, so the data still there is reported once, then nothing until new data.
        Poller.Reregister(pair.Accepted.Source, T3, Interest.Readable);
        ExpectEvents(Poller, new ExpectedEvent(T3, Readiness.Readable));
        ExpectNoEvents(Poller);
        Loopback.ReadUntilWouldBlock(pair.Accepted, out _).Should().Equal("unread"u8.ToArray());
        Loopback.WriteAll(pair.Peer, "x"u8);
        ExpectEvents(Poller, new ExpectedEvent(T3, Readiness.Readable));
        ExpectNoEvents(Poller);
    }

    [Fact]
    public void Level_triggered_writable_stops_while_the_send_buffer_is_full_and_resumes_when_it_drains()
    {
        var pair = Own(SystemPeerPair.Open());
        Poller.Register(pair.Accepted.Source, T1, Interest.Writable | Interest.LevelTriggered);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable));
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable));

        FillThenExpectWritableOnceTheSendBufferDrains(pair, T1);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable)); // and again: the buffer has room
    }

    [Fact]
    public void Level_triggered_alone_or_an_unknown_flag_is_not_an_interest()
    {
        var pair = OpenPair();
        var act = () => Poller.Register(pair.Accepted.Source, T1, Interest.LevelTriggered);
        act.Should().Throw<ArgumentException>();

        act = () => Poller.Register(pair.Accepted.Source, T1, Interest.Readable | (Interest)0x80);
        act.Should().Throw<ArgumentException>();

        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        act = () => Poller.Reregister(pair.Accepted.Source, T1, Interest.LevelTriggered);
        act.Should().Throw<ArgumentException>();
    }

    // ---- tcp_listener.rs / tcp.rs / regressions.rs --------------------------------------------------

    [Fact]
    public void Connecting_client_becomes_writable()
    {
        using var listener = Loopback.Listen();
        var client = Own(StreamSocket.Connect(listener.LocalEndPoint));
        Poller.Register(client.Source, T1, Interest.Writable);

        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable));
        client.TakeError().Should().Be(Errno.None);
        client.RemoteEndPoint.Should().Be(listener.LocalEndPoint);
    }

    [Fact]
    public void Refused_connect_is_reported_and_leaves_an_error()
    {
        IPEndPoint closed;
        using (var listener = Loopback.Listen())
        {
            closed = listener.LocalEndPoint;
        }

        StreamSocket client;
        try
        {
            client = Own(StreamSocket.Connect(closed));
        }
        catch (SyscallException)
        {
            return; // Refused at once: also a correct report.
        }

        Poller.Register(client.Source, T1, Interest.ReadWrite);
        var seen = ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.None));
        seen.Should().Contain(e => e.Token == T1 && e.Readiness != Readiness.None);
        if (ClearsTheSocketErrorItReports)
        {
            seen.Should().Contain(e => e.Token == T1 && (e.Readiness & Readiness.Error) != 0, "the error must then be in the event");
            client.TakeError().Value.Should().Be(0, "this backend is declared to clear SO_ERROR when it reports it");
        }
        else
        {
            client.TakeError().Value.Should().NotBe(0, "a refused connect leaves ECONNREFUSED in SO_ERROR");
        }
    }

    [Fact]
    public void Listener_becomes_readable_accepts_until_would_block_and_rearms()
    {
        using var listener = Loopback.Listen();
        Poller.Register(listener.Source, T1, Interest.Readable);

        for (var round = 0; round < 2; round++)
        {
            var client = Own(StreamSocket.Connect(listener.LocalEndPoint));
            ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));

            var accepted = Own(listener.TryAccept(out var socket, out var errno) ? socket : throw new SyscallException("accept", errno));
            accepted.RemoteEndPoint.Should().Be(client.LocalEndPoint);
            accepted.LocalEndPoint.Should().Be(listener.LocalEndPoint);
            listener.TryAccept(out _, out errno).Should().BeFalse();
            errno.IsWouldBlock.Should().BeTrue();
        }

        Poller.Deregister(listener.Source);
    }

    [Fact]
    public void Accepted_sockets_are_non_blocking()
    {
        var pair = OpenPair();

        // If the accepted socket blocked, this read would hang; closing the peer then turns the hang
        // into a 0 (end of stream), which fails the assertion below instead.
        using var guard = new CancellationTokenSource(Patience.Short);
        using var _ = guard.Token.Register(pair.ClosePeer);
        var n = pair.Accepted.Read(new byte[16], out var errno);

        n.Should().Be(-1);
        errno.IsWouldBlock.Should().BeTrue();
    }

    [Fact]
    public void Deregistered_listener_with_pending_connection_reports_only_the_waker()
    {
        using var listener = Loopback.Listen();
        using var waker = Poller.CreateWaker(WakerToken);
        Poller.Register(listener.Source, T1, Interest.Readable);
        using var client = StreamSocket.Connect(listener.LocalEndPoint);
        Poller.Deregister(listener.Source);

        waker.Wake();
        var seen = ExpectEvents(Poller, new ExpectedEvent(WakerToken, Readiness.Readable));
        seen.Should().NotContain(e => e.Token == T1);
        ExpectNoEvents(Poller, T1);
    }

    [Fact]
    public void A_listener_closed_after_registering_reports_nothing_and_wait_still_works()
    {
        var listener = Loopback.Listen();
        var endPoint = listener.LocalEndPoint;
        Poller.Register(listener.Source, T1, Interest.Readable);
        listener.Dispose();

        ExpectNoEvents(Poller, T1);
        try
        {
            // A connection attempt to the closed port must not surface under the dead registration either.
            StreamSocket.Connect(endPoint).Dispose();
        }
        catch (SyscallException)
        {
            // Refused at once.
        }

        ExpectNoEvents(Poller, T1);
    }

    // ---- tcp_stream.rs: closing, half-closing and resetting -----------------------------------------

    [Fact]
    public void Peer_shutdown_write_is_reported_as_readable_and_read_closed()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);

        Loopback.WriteAll(pair.Peer, "last"u8);
        pair.Peer.ShutdownWrite().Should().Be(Errno.None);

        var buffer = new byte[16];
        if (ReportsEndOfStreamBehindUnreadData)
        {
            ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable | Readiness.ReadClosed));
            pair.Accepted.Read(buffer, out _).Should().Be(4, "data sent before the FIN is still delivered");
        }
        else
        {
            ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
            pair.Accepted.Read(buffer, out _).Should().Be(4, "data sent before the FIN is still delivered");
            ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.ReadClosed));
        }

        pair.Accepted.Read(buffer, out _).Should().Be(0, "then end of stream");
    }

    [Fact]
    public void Urgent_data_is_reported_as_priority_and_a_read_stops_short_at_its_mark()
    {
        using var listener = Loopback.Listen();
        listener.SetOobInline(true).Should().Be(Errno.None);
        var peer = Own(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        peer.Connect(listener.LocalEndPoint);
        var accepted = Own(Loopback.AcceptWithin(listener));
        Poller.Register(accepted.Source, T1, Interest.Readable);

        peer.Send("abc"u8);
        peer.Send("X"u8, SocketFlags.OutOfBand);
        peer.Send("def"u8);

        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable | Readiness.Priority));
        var buffer = new byte[64];
        accepted.Read(buffer, out _).Should().Be(3, "a read stops short at the urgent mark, though more is queued");
        var rest = new List<byte>();
        Wait.Until(
            () =>
            {
                rest.AddRange(Loopback.ReadUntilWouldBlock(accepted, out _));
                return rest.Count >= 4;
            },
            Patience.Short,
            "the 4 bytes from the urgent mark on can be read",
            () => $"read: [{string.Join(", ", rest)}]");
        rest.Should().Equal("Xdef"u8.ToArray(), "with SO_OOBINLINE, inherited from the listener, the urgent byte stays in its place in the stream");
    }

    [Fact]
    public void Peer_close_after_accept_is_reported_as_readable_with_end_of_stream()
    {
        var pair = OpenPair();
        Poller.Register(pair.Peer.Source, T1, Interest.Readable);

        pair.CloseAccepted();

        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        pair.Peer.Read(new byte[16], out _).Should().Be(0);
    }

    [Fact]
    public void Peer_reset_is_reported_readable_and_read_gives_reset_or_end_of_stream()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        ExpectNoEvents(Poller, T1);

        pair.Peer.SetResetOnClose().Should().Be(Errno.None);
        pair.ClosePeer();

        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        var n = pair.Accepted.Read(new byte[16], out var errno);
        (n == 0 || (n == -1 && errno.IsPeerGone)).Should().BeTrue($"read after RST gave {n} ({errno})");
    }

    [Fact]
    public void Local_shutdown_write_ends_the_peer_read_side_but_keeps_ours_open()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.ReadWrite);
        Poller.Register(pair.Peer.Source, T2, Interest.Readable);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable));

        pair.Accepted.ShutdownWrite().Should().Be(Errno.None);
        if (ReportsWriteClosedOnLocalShutdownWrite)
        {
            ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.WriteClosed), new ExpectedEvent(T2, Readiness.Readable));
        }
        else
        {
            ExpectEvents(Poller, new ExpectedEvent(T2, Readiness.Readable));
        }

        pair.Peer.Read(new byte[16], out _).Should().Be(0, "the peer sees our FIN");

        Loopback.WriteAll(pair.Peer, "back"u8);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        Loopback.ReadUntilWouldBlock(pair.Accepted, out _).Should().Equal("back"u8.ToArray());
    }

    [Fact]
    public void Writable_is_reported_again_after_the_send_buffer_drains()
    {
        var pair = Own(SystemPeerPair.Open());
        Poller.Register(pair.Accepted.Source, T1, Interest.Writable);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Writable));

        FillThenExpectWritableOnceTheSendBufferDrains(pair, T1);
    }

    // ---- udp_socket.rs ------------------------------------------------------------------------------

    [Fact]
    public void A_datagram_socket_reports_an_edge_per_arrival_and_again_after_would_block_over_IPv4() =>
        ExpectDatagramEdges(IPAddress.Loopback);

    [Fact]
    public void A_datagram_socket_reports_an_edge_per_arrival_and_again_after_would_block_over_IPv6()
    {
        Skips.When(Ipv6Loopback.SkipReason);
        ExpectDatagramEdges(IPAddress.IPv6Loopback);
    }

    // ---- waker.rs ---------------------------------------------------------------------------------

    [Fact]
    public void Waker_wakes_a_blocked_wait_from_another_thread()
    {
        using var waker = Poller.CreateWaker(WakerToken);
        using var waiting = new ManualResetEventSlim();
        var waking = OtherThread.Start(() =>
        {
            waiting.Wait(Patience.Short).Should().BeTrue("the test thread is about to block in Wait");
            waker.Wake();
        });

        waiting.Set();
        var clock = Stopwatch.StartNew();
        var n = Poller.Wait(_buffer, 5000);

        clock.ElapsedMilliseconds.Should().BeLessThan(4000);
        _buffer.Take(n).Should().ContainSingle(e => e.Token == WakerToken)
            .Which.Readiness.Should().HaveFlag(Readiness.Readable);
        waking.Join();
    }

    [Fact]
    public void One_wake_gives_one_event_then_no_more()
    {
        using var waker = Poller.CreateWaker(WakerToken);
        OtherThread.Start(waker.Wake).Join();

        ExpectEvents(Poller, new ExpectedEvent(WakerToken, Readiness.Readable));
        ExpectNoEvents(Poller, WakerToken);
    }

    [Fact]
    public void A_wake_after_reset_gives_a_second_event()
    {
        using var waker = Poller.CreateWaker(WakerToken);

        OtherThread.Start(waker.Wake).Join();
        ExpectEvents(Poller, new ExpectedEvent(WakerToken, Readiness.Readable));
        waker.Reset();
        ExpectNoEvents(Poller, WakerToken);

        OtherThread.Start(waker.Wake).Join();
        ExpectEvents(Poller, new ExpectedEvent(WakerToken, Readiness.Readable));
    }

    [Fact]
    public void Several_wakes_before_a_wait_give_at_least_one_event()
    {
        using var waker = Poller.CreateWaker(WakerToken);
        waker.Wake();
        waker.Wake();
        waker.Wake();

        ExpectEvents(Poller, new ExpectedEvent(WakerToken, Readiness.Readable));
        waker.Reset();
        ExpectNoEvents(Poller, WakerToken);
    }

    // ---- resources and errors -----------------------------------------------------------------------

    [Fact]
    public void Creating_and_disposing_500_pollers_leaks_no_fds()
    {
        // Other test classes run in parallel and open a few sockets; a leak here is one fd per poller
        // (two with its waker), so anything near 500 is a leak and a small drift is not.
        CreateAndDispose(); // Warm-up: lazily loaded native state opens what it opens once.
        var before = Loopback.OpenFdCount();
        for (var i = 0; i < 500; i++)
        {
            CreateAndDispose();
        }

        // libkqueue frees a closed kqueue's descriptors on its own thread, a little later (docs/design.md);
        // nothing signals that, so the count is polled, bounded. A kernel's close is immediate.
        var after = 0;
        Wait.Until(
            () => (after = Loopback.OpenFdCount()) - before < 50,
            Patience.Short,
            "the disposed pollers' descriptors are closed",
            () => $"{after - before} more open than before");

        (after - before).Should().BeLessThan(50);

        void CreateAndDispose()
        {
            using var poller = CreatePoller();
            using var waker = poller.CreateWaker(WakerToken);
        }
    }

    [Fact]
    public void Register_of_a_bad_fd_throws_SyscallException()
    {
        var act = () => Poller.Register(Source.None, T1, Interest.Readable);
        act.Should().Throw<SyscallException>();

        act = () => Poller.Register(Source.FromFd(int.MaxValue), T1, Interest.Readable);
        act.Should().Throw<SyscallException>();
    }

    [Fact]
    public void Registering_the_same_fd_twice_throws()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);

        var act = () => Poller.Register(pair.Accepted.Source, T2, Interest.Readable);
        act.Should().Throw<SyscallException>();

        // The first registration is untouched.
        Loopback.WriteAll(pair.Peer, "x"u8);
        var seen = ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        seen.Should().NotContain(e => e.Token == T2);
    }

    [Fact]
    public void Reregister_and_deregister_of_an_unregistered_source_throw_ENOENT()
    {
        // As epoll_ctl answers; kqueue and AFD would add or ignore, so their backends' own bookkeeping answers the same.
        var pair = OpenPair();

        var act = () => Poller.Reregister(pair.Accepted.Source, T1, Interest.Readable);
        var refused = act.Should().Throw<SyscallException>().Which;
        refused.Errno.Value.Should().Be(OsConstants.Current.ENOENT);
        refused.Call.Should().StartWith(CallsRefusingAnUnregisteredSource.Reregister);

        act = () => Poller.Deregister(pair.Accepted.Source);
        refused = act.Should().Throw<SyscallException>().Which;
        refused.Errno.Value.Should().Be(OsConstants.Current.ENOENT);
        refused.Call.Should().StartWith(CallsRefusingAnUnregisteredSource.Deregister);
    }

    [Fact]
    public void Register_with_no_interest_throws()
    {
        var pair = OpenPair();
        var act = () => Poller.Register(pair.Accepted.Source, T1, default);
        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Wait_needs_room_for_one_event_and_a_live_poller()
    {
        var act = () => Poller.Wait([], 0);
        act.Should().Throw<ArgumentException>();

        Poller.Dispose();
        act = () => Poller.Wait(_buffer, 0);
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Registration_calls_after_dispose_throw_ObjectDisposedException()
    {
        var pair = OpenPair();
        Poller.Register(pair.Accepted.Source, T1, Interest.Readable);
        Poller.Dispose();

        // The poller's own fd number may already belong to someone else (another poller, say):
        // a disposed poller must refuse instead of issuing a call on it.
        var register = () => Poller.Register(pair.Peer.Source, T2, Interest.Readable);
        var reregister = () => Poller.Reregister(pair.Accepted.Source, T1, Interest.Writable);
        var deregister = () => Poller.Deregister(pair.Accepted.Source);
        var createWaker = () => Poller.CreateWaker(WakerToken);
        register.Should().Throw<ObjectDisposedException>();
        reregister.Should().Throw<ObjectDisposedException>();
        deregister.Should().Throw<ObjectDisposedException>();
        createWaker.Should().Throw<ObjectDisposedException>();
    }

    /// <summary>
    /// Writes until the send buffer is full (EAGAIN), expects no event for <paramref name="token"/> while it stays full,
    /// then reads everything at the peer on another thread and expects <paramref name="token"/> writable again.
    /// </summary>
    private void FillThenExpectWritableOnceTheSendBufferDrains(SystemPeerPair pair, Token token)
    {
        var chunk = new byte[64 * 1024];
        long total = 0;
        Errno errno;
        while (true)
        {
            var n = pair.Accepted.Write(chunk, out errno);
            if (n < 0)
            {
                break;
            }

            total += n;
            total.Should().BeLessThan(256L * 1024 * 1024, "a non-blocking socket must fill up and report EAGAIN");
        }

        errno.IsWouldBlock.Should().BeTrue();
        ExpectNoEvents(Poller, token);

        long received = 0;
        var reader = OtherThread.Start(() =>
        {
            var buffer = new byte[256 * 1024];
            while (received < total)
            {
                var n = pair.Peer.Receive(buffer);
                if (n == 0)
                {
                    break;
                }

                received += n;
            }
        });

        ExpectEvents(Poller, new ExpectedEvent(token, Readiness.Writable));
        reader.Join();
        received.Should().Be(total);
    }

    /// <summary>
    /// A UDP socket registered readable, edge-triggered: two datagrams queued raise one edge; one read leaves the other
    /// queued with no new edge; reading to would-block re-arms, so the next datagram raises one, and the reply to its
    /// source reaches the sender.
    /// </summary>
    private void ExpectDatagramEdges(IPAddress loopback)
    {
        var server = Own(UdpSocket.Bind(new IPEndPoint(loopback, 0)));
        var client = Own(new Socket(loopback.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { ReceiveTimeout = (int)Patience.Short.TotalMilliseconds });
        client.Bind(new IPEndPoint(loopback, 0));
        Poller.Register(server.Source, T1, Interest.Readable);
        var buffer = new byte[64];

        client.SendTo("one"u8.ToArray(), server.LocalEndPoint);
        client.SendTo("two"u8.ToArray(), server.LocalEndPoint);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        server.ReceiveFrom(buffer, out _, out _).Should().Be(3);
        ExpectNoEvents(Poller, T1);
        server.ReceiveFrom(buffer, out _, out _).Should().Be(3, "the second datagram was still queued");
        buffer.AsSpan(0, 3).SequenceEqual("two"u8).Should().BeTrue();
        server.ReceiveFrom(buffer, out _, out var errno).Should().Be(-1);
        errno.IsWouldBlock.Should().BeTrue(errno.ToString());

        client.SendTo("three"u8.ToArray(), server.LocalEndPoint);
        ExpectEvents(Poller, new ExpectedEvent(T1, Readiness.Readable));
        var n = server.ReceiveFrom(buffer, out var source, out errno);
        n.Should().Be(5, errno.ToString());
        source.ToEndPoint().Should().Be(client.LocalEndPoint);
        server.SendTo(buffer.AsSpan(0, n), source, out errno).Should().Be(5, errno.ToString());
        var reply = new byte[64];
        client.Receive(reply).Should().Be(5);
        reply.AsSpan(0, 5).SequenceEqual("three"u8).Should().BeTrue();
    }

    /// <summary>Disposes the sockets the test opened, then the poller.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (!disposing)
        {
            return;
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _owned.Clear();
        _poller?.Dispose();
    }
}
