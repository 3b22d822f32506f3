using System.Diagnostics;
using EchoServer.Reactor.Pollers;
using EchoServer.Reactor.Tests.Support;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// <see cref="EventLoop"/>: token generations and stale events, dispatch, Schedule, timers, Stop,
/// failing handlers and Dispose. Deterministic cases use <see cref="FakePoller"/>; the ones about
/// blocking and threads use the platform's real poller.
/// </summary>
public sealed class EventLoopTests
{
    private const ulong SlotMask = 0xFFFF_FFFF;

    /// <summary>Each real backend: epoll on Linux; kqueue everywhere (on Linux over libkqueue, or skipped saying why).</summary>
    public static TheoryData<PollerKind> NativePollers() =>
        OperatingSystem.IsLinux() ? new(PollerKind.Epoll, PollerKind.Kqueue) : new(PollerKind.Kqueue);

    private static IPoller CreateNativePoller(PollerKind kind)
    {
        if (kind == PollerKind.Kqueue)
        {
            LibkqueueBuild.RequireKqueue();
        }

        return PollerFactory.Create(kind);
    }

    private static PollEvent Readable(Token token) => new(token, Readiness.Readable);

    // ---- tokens and stale events ------------------------------------------------------------------

    [Fact]
    public void A_stale_event_for_a_freed_token_is_dropped_and_never_reaches_the_new_owner_of_the_slot()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var fresh = new RecordingHandler("fresh");
        var second = new RecordingHandler("second");
        Token secondToken = default;
        Token freshToken = default;

        // The first handler closes the second connection and accepts a new one that gets the same fd
        // number and the same slot, all while the second's event is still waiting in the batch.
        var first = new RecordingHandler("first", (l, _, _) =>
        {
            l.Deregister(secondToken).Should().BeTrue();
            second.Dispose();
            freshToken = l.Register(Source.FromFd(11), Interest.Readable, fresh);
        });
        var firstToken = loop.Register(Source.FromFd(10), Interest.Readable, first);
        secondToken = loop.Register(Source.FromFd(11), Interest.Readable, second);
        poller.Script(Readable(firstToken), Readable(secondToken));

        loop.RunOnce(0).Should().Be(2);

        (freshToken.Value & SlotMask).Should().Be(secondToken.Value & SlotMask, "the freed slot is reused");
        freshToken.Should().NotBe(secondToken);
        first.Calls.Should().ContainSingle();
        second.Calls.Should().BeEmpty();
        fresh.Calls.Should().BeEmpty("the old event belongs to the old owner");
        loop.StaleEventCount.Should().Be(1);
        loop.EventsDispatched.Should().Be(1);

        // The new owner does get its own events.
        poller.Script(Readable(freshToken));
        loop.RunOnce(0);
        fresh.Calls.Should().Equal((freshToken, Readiness.Readable));
    }

    [Fact]
    public void Tokens_of_a_reused_slot_differ_by_generation()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var old = new RecordingHandler("old");
        var current = new RecordingHandler("current");

        var oldToken = loop.Register(Source.FromFd(10), Interest.Readable, old);
        loop.Deregister(oldToken).Should().BeTrue();
        var newToken = loop.Register(Source.FromFd(10), Interest.Readable, current);

        (newToken.Value & SlotMask).Should().Be(oldToken.Value & SlotMask);
        newToken.Should().NotBe(oldToken);
        loop.IsRegistered(oldToken).Should().BeFalse();
        loop.IsRegistered(newToken).Should().BeTrue();
        loop.Deregister(oldToken).Should().BeFalse();
        var reregister = () => loop.Reregister(oldToken, Interest.Writable);
        reregister.Should().Throw<InvalidOperationException>();
        poller.Registered[10].Should().Be(newToken, "a refused reregister must not touch the live registration");

        poller.Script(Readable(oldToken));
        loop.RunOnce(0);
        current.Calls.Should().BeEmpty();
        loop.StaleEventCount.Should().Be(1);
    }

    [Fact]
    public void A_failed_register_frees_its_slot()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var handler = new RecordingHandler("h");

        var act = () => loop.Register(Source.FromFd(-1), Interest.Readable, handler);
        act.Should().Throw<IOException>();

        loop.RegisteredCount.Should().Be(0);
        var token = loop.Register(Source.FromFd(5), Interest.Readable, handler);
        (token.Value & SlotMask).Should().Be(0, "the slot taken by the failed register was given back");
    }

    [Fact]
    public void Waker_events_are_consumed_and_never_dispatched()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var handler = new RecordingHandler("h");
        loop.Register(Source.FromFd(5), Interest.Readable, handler);

        poller.Script(Readable(new Token(ulong.MaxValue)));
        loop.RunOnce(0).Should().Be(1);

        poller.Waker!.Resets.Should().Be(1);
        handler.Calls.Should().BeEmpty();
        loop.EventsDispatched.Should().Be(0);
        loop.StaleEventCount.Should().Be(0);
    }

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void Events_from_a_real_poller_reach_the_handler_with_its_token(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        using var pair = TcpPair.Open();
        var handler = new RecordingHandler("socket");
        var token = loop.Register(pair.Accepted.Source, Interest.Readable, handler);

        Loopback.WriteAll(pair.Peer, "ping"u8);
        Wait.Until(
            () =>
            {
                loop.RunOnce(500);
                return handler.Calls.Count > 0;
            },
            Patience.Short,
            "the loop calls the handler for the written socket");

        handler.Calls.Should().NotBeEmpty().And.OnlyContain(c => c.Token == token && (c.Readiness & Readiness.Readable) != 0);
        loop.Deregister(token);
    }

    // ---- Stop and Schedule ------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void Stop_from_another_thread_makes_Run_return_promptly(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        using var running = new ManualResetEventSlim();
        loop.AddTimer(TimeSpan.Zero, _ => running.Set());

        for (var round = 0; round < 2; round++)
        {
            var runner = OtherThread.Start(loop.Run);
            running.Wait(Patience.Short, TestContext.Current.CancellationToken).Should().BeTrue();

            // The loop has nothing left to do, so it is blocked (or about to block) in an endless wait.
            var clock = Stopwatch.StartNew();
            loop.Stop();
            runner.Join();
            clock.ElapsedMilliseconds.Should().BeLessThan(1000);

            // Run can be entered again after a stop.
            running.Reset();
            loop.AddTimer(TimeSpan.Zero, _ => running.Set());
        }
    }

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void Post_from_another_thread_wakes_the_loop_and_runs_on_the_loop_thread(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        var ran = false;
        var actionThread = -1;
        var timedOut = false;

        // Nothing else would end the wait: without the wake, only this safety timer does.
        var safety = loop.AddTimer(Patience.Short, _ => timedOut = true);
        var poster = OtherThread.Start(() => loop.Post(_ =>
        {
            actionThread = Environment.CurrentManagedThreadId;
            ran = true;
        }));
        while (!ran && !timedOut)
        {
            loop.RunOnce(-1);
        }

        poster.Join();
        loop.CancelTimer(safety);
        timedOut.Should().BeFalse("Post wakes a loop blocked in its wait");
        ran.Should().BeTrue();
        actionThread.Should().Be(Environment.CurrentManagedThreadId, "posted work runs on the loop thread");
    }

    [Fact]
    public void Work_posted_behind_an_action_that_throws_runs_in_the_next_turn()
    {
        using var loop = EventLoop.Create(new FakePoller());
        var ran = new List<string>();
        loop.Post(_ => throw new InvalidOperationException("posted work failed"));
        loop.Post(_ => ran.Add("second"));

        var turn = () => loop.RunOnce(0);
        turn.Should().Throw<InvalidOperationException>();
        ran.Should().BeEmpty();

        loop.RunOnce(0);
        ran.Should().Equal(["second"], "the queue still held it when the first action threw");
    }

    [Fact]
    public void Work_posted_by_posted_work_runs_without_another_post()
    {
        using var loop = EventLoop.Create(new FakePoller());
        var ran = new List<string>();
        loop.Post(l => l.Post(_ => ran.Add("successor")));

        loop.RunOnce(0);
        loop.RunOnce(0);

        ran.Should().Equal(["successor"]);
    }

    [Fact]
    public void Schedule_reruns_the_handler_without_a_new_edge_and_without_blocking()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var handler = new RecordingHandler("h", (l, t, _) =>
        {
            if (l.EventsDispatched < 3)
            {
                l.Schedule(t, Readiness.Readable);
            }
        });
        var token = loop.Register(Source.FromFd(5), Interest.Readable, handler);
        poller.Script(Readable(token));

        // Turn 1: the edge, then the rescheduled call after the batch (which schedules once more).
        loop.RunOnce(-1);
        handler.Calls.Should().HaveCount(2);

        // Turn 2: work is pending, so the loop polls without blocking and then runs it.
        loop.RunOnce(-1);
        handler.Calls.Should().HaveCount(3);

        // Turn 3: nothing pending: the loop would block as long as asked.
        loop.RunOnce(-1);
        handler.Calls.Should().HaveCount(3);

        poller.WaitTimeouts.Should().Equal(-1, 0, -1);
        handler.Calls.Should().OnlyContain(c => c.Token == token);
    }

    [Fact]
    public void A_scheduled_call_for_a_token_deregistered_meanwhile_is_dropped()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var victim = new RecordingHandler("victim");
        var victimToken = loop.Register(Source.FromFd(6), Interest.Readable, victim);
        var killer = new RecordingHandler("killer", (l, _, _) => l.Deregister(victimToken));
        var killerToken = loop.Register(Source.FromFd(5), Interest.Readable, killer);

        loop.Schedule(victimToken, Readiness.Readable);
        poller.Script(Readable(killerToken));
        loop.RunOnce(-1);

        victim.Calls.Should().BeEmpty();
        loop.StaleEventCount.Should().Be(1);
    }

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void A_handler_that_stops_early_and_schedules_itself_drains_a_real_socket_without_new_edges(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        using var pair = TcpPair.Open();
        var received = new List<byte>();
        var handler = new RecordingHandler("one byte at a time", (l, t, readiness) =>
        {
            var one = new byte[1];
            if (pair.Accepted.Read(one, out _) == 1)
            {
                received.Add(one[0]);
                l.Schedule(t, Readiness.Readable);
            }
        });
        var token = loop.Register(pair.Accepted.Source, Interest.Readable, handler);

        Loopback.WriteAll(pair.Peer, "abcdef"u8);
        Wait.Until(
            () =>
            {
                loop.RunOnce(500);
                return received.Count > 0;
            },
            Patience.Short,
            "the handler reads the first byte");

        // From here on no new edge comes; each turn must not block for its 1 s timeout.
        var clock = Stopwatch.StartNew();
        for (var turn = 0; turn < 10 && received.Count < 6; turn++)
        {
            loop.RunOnce(1000);
        }

        clock.ElapsedMilliseconds.Should().BeLessThan(900);
        received.Should().Equal("abcdef"u8.ToArray());
        loop.Deregister(token);
    }

    // ---- timers -----------------------------------------------------------------------------------

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void Timers_fire_in_deadline_order_and_cancelled_timers_do_not_fire(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        var fired = new List<int>();

        // Deadlines count from each AddTimer call, so a pause between the calls (JIT, a busy machine)
        // shifts the later ones: warm the path up first and space the deadlines widely.
        loop.CancelTimer(loop.AddTimer(TimeSpan.FromMilliseconds(1), _ => fired.Add(0))).Should().BeTrue();
        loop.AddTimer(TimeSpan.FromMilliseconds(110), _ => fired.Add(110));
        var cancelled = loop.AddTimer(TimeSpan.FromMilliseconds(35), _ => fired.Add(35));
        loop.AddTimer(TimeSpan.FromMilliseconds(10), _ => fired.Add(10));
        var last = loop.AddTimer(TimeSpan.FromMilliseconds(60), _ => fired.Add(60));

        loop.CancelTimer(cancelled).Should().BeTrue();
        loop.CancelTimer(cancelled).Should().BeFalse();

        Wait.Until(
            () =>
            {
                loop.RunOnce(-1);
                return fired.Count >= 3;
            },
            Patience.Short,
            "three timers fire",
            () => $"fired: [{string.Join(", ", fired)}]");

        // Let the cancelled timer's deadline pass well behind us.
        loop.RunOnce(20);
        fired.Should().Equal(10, 60, 110);
        loop.CancelTimer(last).Should().BeFalse("a fired timer cannot be cancelled");
    }

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void A_timer_never_fires_before_its_delay_has_passed(PollerKind kind)
    {
        // Millisecond deadlines counted from a truncated clock fire up to 1 ms early, which shows within a few
        // dozen 3 ms timers started at arbitrary points of a millisecond. The loop is polled (timeout 0), as
        // it is when other events keep it busy: a blocking wait would itself sleep past the deadline.
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        var shortest = TimeSpan.MaxValue;
        for (var i = 0; i < 60; i++)
        {
            var fired = false;
            var clock = Stopwatch.StartNew();
            loop.AddTimer(TimeSpan.FromMilliseconds(3), _ =>
            {
                shortest = clock.Elapsed < shortest ? clock.Elapsed : shortest;
                fired = true;
            });
            // Each check polls back to back for a while: the helper's pauses between checks would step over
            // the moment an early timer fires.
            Wait.Until(
                () =>
                {
                    for (var poll = 0; poll < 10_000 && !fired; poll++)
                    {
                        loop.RunOnce(0);
                    }

                    return fired;
                },
                Patience.Short,
                $"3 ms timer {i} fires");

            fired.Should().BeTrue();
        }

        shortest.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(3));
    }

    [Fact]
    public void RunOnce_with_a_pending_timer_waits_no_longer_than_the_timer()
    {
        var poller = new FakePoller();
        using (var loop = EventLoop.Create(poller))
        {
            loop.AddTimer(TimeSpan.FromMilliseconds(200), _ => { });
            loop.RunOnce(-1);
            loop.RunOnce(5000);
            loop.RunOnce(50);
        }

        // 201: the deadline is the exact time rounded up to a whole millisecond, so the wait may need one more.
        poller.WaitTimeouts.Should().HaveCount(3);
        poller.WaitTimeouts[0].Should().BeInRange(0, 201);
        poller.WaitTimeouts[1].Should().BeInRange(0, 201);
        poller.WaitTimeouts[2].Should().BeInRange(0, 50, "a shorter caller timeout wins");
    }

    [Theory]
    [MemberData(nameof(NativePollers))]
    public void RunOnce_without_limit_returns_when_a_real_timer_is_due(PollerKind kind)
    {
        using var loop = EventLoop.Create(CreateNativePoller(kind));
        var fired = false;
        using var done = new ManualResetEventSlim();
        var clock = Stopwatch.StartNew(); // before AddTimer: the timer counts from there, and never fires early
        loop.AddTimer(TimeSpan.FromMilliseconds(50), _ => fired = true);
        var runner = OtherThread.Start(() =>
        {
            loop.RunOnce(-1);
            done.Set();
        });

        var returned = done.Wait(Patience.Short, TestContext.Current.CancellationToken);
        if (!returned)
        {
            loop.Stop(); // Unblock the wait so the thread ends, then fail.
        }

        runner.Join();
        returned.Should().BeTrue("RunOnce(-1) must wake up for the timer");
        fired.Should().BeTrue();
        clock.ElapsedMilliseconds.Should().BeGreaterThanOrEqualTo(50);
    }

    // ---- failures and shutdown --------------------------------------------------------------------

    [Fact]
    public void A_handler_that_throws_is_deregistered_disposed_and_reported_while_the_loop_keeps_running()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var boom = new InvalidOperationException("boom");
        var failures = new List<(Token Token, Exception Error)>();
        loop.HandlerFailed += (t, e) => failures.Add((t, e));
        var faulty = new RecordingHandler("faulty", (_, _, _) => throw boom);
        var healthy = new RecordingHandler("healthy");
        var faultyToken = loop.Register(Source.FromFd(5), Interest.Readable, faulty);
        var healthyToken = loop.Register(Source.FromFd(6), Interest.Readable, healthy);

        poller.Script(Readable(faultyToken), Readable(healthyToken));
        loop.RunOnce(0);

        failures.Should().Equal((faultyToken, (Exception)boom));
        faulty.DisposeCount.Should().Be(1);
        loop.IsRegistered(faultyToken).Should().BeFalse();
        poller.Deregistered.Should().Equal(5);
        healthy.Calls.Should().ContainSingle("the rest of the batch is still dispatched");

        poller.Script(Readable(faultyToken), Readable(healthyToken));
        loop.RunOnce(0);
        faulty.Calls.Should().ContainSingle();
        healthy.Calls.Should().HaveCount(2);
        loop.RegisteredCount.Should().Be(1);
    }

    [Fact]
    public void A_handler_that_closes_its_fd_and_throws_is_still_disposed_and_reported_while_the_loop_keeps_running()
    {
        var poller = new FakePoller();
        using var loop = EventLoop.Create(poller);
        var failures = new List<Token>();
        loop.HandlerFailed += (t, _) => failures.Add(t);

        // The handler's fd is already gone when the loop cleans up after it, so deregistration fails (EBADF).
        poller.FailDeregister.Add(5);
        var faulty = new RecordingHandler("faulty", (_, _, _) => throw new InvalidOperationException("closed, then failed"));
        var healthy = new RecordingHandler("healthy");
        var faultyToken = loop.Register(Source.FromFd(5), Interest.Readable, faulty);
        var healthyToken = loop.Register(Source.FromFd(6), Interest.Readable, healthy);

        poller.Script(Readable(faultyToken), Readable(healthyToken));
        var act = () => loop.RunOnce(0);

        act.Should().NotThrow();
        failures.Should().Equal(faultyToken);
        faulty.DisposeCount.Should().Be(1);
        loop.IsRegistered(faultyToken).Should().BeFalse();
        healthy.Calls.Should().ContainSingle();
    }

    [Fact]
    public void Dispose_deregisters_and_disposes_every_handler_then_the_waker_and_the_poller()
    {
        var poller = new FakePoller();
        var handlers = Enumerable.Range(0, 5).Select(i => new RecordingHandler($"h{i}")).ToList();
        var loop = EventLoop.Create(poller);
        for (var i = 0; i < handlers.Count; i++)
        {
            loop.Register(Source.FromFd(100 + i), Interest.Readable, handlers[i]);
        }

        // One fd is already gone (its deregistration fails); the others must still be cleaned up.
        poller.FailDeregister.Add(102);
        loop.Deregister(loop.Register(Source.FromFd(200), Interest.Readable, new RecordingHandler("gone")));

        loop.Dispose();
        loop.Dispose();

        handlers.Should().OnlyContain(h => h.DisposeCount == 1);
        poller.Deregistered.Should().Contain([100, 101, 102, 103, 104]);
        poller.Registered.Keys.Should().BeEquivalentTo([102]);
        poller.Waker!.IsDisposed.Should().BeTrue();
        poller.IsDisposed.Should().BeTrue();
        var act = () => loop.RunOnce(0);
        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public void Dispose_reaches_every_handler_the_waker_and_the_poller_even_when_a_handler_dispose_throws()
    {
        var poller = new FakePoller();
        var loop = EventLoop.Create(poller);
        var first = new RecordingHandler("first");
        var last = new RecordingHandler("last");
        loop.Register(Source.FromFd(100), Interest.Readable, first);
        var faultyToken = loop.Register(Source.FromFd(101), Interest.Readable, new ThrowingOnDisposeHandler());
        loop.Register(Source.FromFd(102), Interest.Readable, last);
        var failures = new List<(Token Token, Exception Error)>();
        loop.HandlerFailed += (token, error) => failures.Add((token, error));

        loop.Dispose();

        first.DisposeCount.Should().Be(1);
        last.DisposeCount.Should().Be(1);
        failures.Should().ContainSingle().Which.Token.Should().Be(faultyToken);
        poller.Waker!.IsDisposed.Should().BeTrue();
        poller.IsDisposed.Should().BeTrue();
    }

    private sealed class ThrowingOnDisposeHandler : IReadinessHandler
    {
        public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
        {
        }

        public void Dispose() => throw new InvalidOperationException("dispose failed");
    }
}
