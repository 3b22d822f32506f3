using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>An <see cref="IPoller"/> that returns scripted batches and records what the loop asked of it.</summary>
internal sealed class FakePoller : IPoller
{
    private const int EBADF = 9;
    private const int EEXIST = 17;

    private readonly Queue<PollEvent[]> _batches = new();

    public string Name => "fake";

    /// <summary>Registered fds and their current token.</summary>
    public Dictionary<int, Token> Registered { get; } = [];

    /// <summary>Every fd passed to <see cref="Deregister"/>, in order.</summary>
    public List<int> Deregistered { get; } = [];

    /// <summary>The timeout of every <see cref="Wait"/>, in order.</summary>
    public List<int> WaitTimeouts { get; } = [];

    /// <summary>Fds whose deregistration fails (as if the handler had already closed them).</summary>
    public HashSet<int> FailDeregister { get; } = [];

    public FakeWaker? Waker { get; private set; }

    public bool IsDisposed { get; private set; }

    /// <summary>Queues one batch for a future <see cref="Wait"/>; with none queued, a wait returns 0.</summary>
    public void Script(params PollEvent[] batch) => _batches.Enqueue(batch);

    public void Register(Source source, Token token, Interest interest)
    {
        var fd = source.Fd;
        if (fd < 0)
        {
            throw new SyscallException("fake register", new Errno(EBADF));
        }

        if (!Registered.TryAdd(fd, token))
        {
            throw new SyscallException("fake register", new Errno(EEXIST));
        }
    }

    public void Reregister(Source source, Token token, Interest interest)
    {
        var fd = source.Fd;
        if (!Registered.ContainsKey(fd))
        {
            throw new SyscallException("fake reregister", new Errno(EBADF));
        }

        Registered[fd] = token;
    }

    public void Deregister(Source source)
    {
        var fd = source.Fd;
        Deregistered.Add(fd);
        if (FailDeregister.Contains(fd) || !Registered.Remove(fd))
        {
            throw new SyscallException("fake deregister", new Errno(EBADF));
        }
    }

    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        WaitTimeouts.Add(timeoutMs);
        if (!_batches.TryDequeue(out var batch))
        {
            return 0;
        }

        batch.CopyTo(events);
        return batch.Length;
    }

    public IWaker CreateWaker(Token token)
    {
        Waker = new FakeWaker();
        return Waker;
    }

    public void Dispose() => IsDisposed = true;
}

internal sealed class FakeWaker : IWaker
{
    public int Wakes { get; private set; }

    public int Resets { get; private set; }

    public bool IsDisposed { get; private set; }

    public void Wake() => Wakes++;

    public void Reset() => Resets++;

    public void Dispose() => IsDisposed = true;
}

/// <summary>A handler that records its calls and runs an optional action on each.</summary>
internal sealed class RecordingHandler(string name, Action<EventLoop, Token, Readiness>? onReady = null) : IReadinessHandler
{
    public string Name { get; } = name;

    public List<(Token Token, Readiness Readiness)> Calls { get; } = [];

    public int DisposeCount { get; private set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        Calls.Add((token, readiness));
        onReady?.Invoke(eventLoop, token, readiness);
    }

    public void Dispose() => DisposeCount++;

    public override string ToString() => Name;
}
