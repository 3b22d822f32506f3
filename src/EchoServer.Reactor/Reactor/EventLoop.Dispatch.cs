using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>The loop's dispatch: events to handlers (a handler that throws is deregistered and disposed), then scheduled work, posted work and due timers.</summary>
public abstract partial class EventLoop
{
    private protected static int MinTimeout(int a, int b) => a < 0 ? b : b < 0 ? a : Math.Min(a, b);

    private protected void RunScheduled()
    {
        // Swap, so a handler that schedules itself again runs in the next turn, after fresh events.
        (_running, _scheduled) = (_scheduled, _running);
        foreach (var ev in _running)
        {
            Dispatch(ev);
        }

        _running.Clear();
    }

    private protected void RunPosted()
    {
        // Cleared before the queue is read (a full fence), so work posted while it drains sets it again.
        Interlocked.Exchange(ref _postedPending, 0);
        try
        {
            while (_posted.TryDequeue(out var action))
            {
                action(this);
            }
        }
        finally
        {
            if (!_posted.IsEmpty)
            {
                Volatile.Write(ref _postedPending, 1); // an action threw: what it left behind runs next turn
            }
        }
    }

    private protected void Dispatch(PollEvent ev)
    {
        var handler = _slab.Get(ev.Token, out _);
        if (handler is null)
        {
            StaleEventCount++;
            return;
        }

        EventsDispatched++;
        try
        {
            handler.OnReady(this, ev.Token, ev.Readiness);
        }
#pragma warning disable CA1031 // One faulty connection must not take the loop and every other connection down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            try
            {
                Deregister(ev.Token);
            }
            catch (IOException)
            {
                // The handler may have closed its source before throwing (EBADF); its token is freed all the same.
            }

            handler.Dispose();
            HandlerFailed?.Invoke(ev.Token, ex);
        }
    }
}
