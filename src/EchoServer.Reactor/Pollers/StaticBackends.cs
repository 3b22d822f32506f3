using System.Runtime.CompilerServices;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// Receives the backend <see cref="PollerFactory"/> chose as a type argument: a struct, so that code generic over it
/// (the event loop) is compiled once per backend and calls the backend directly, where the JIT can inline it.
/// </summary>
internal interface IBackendConsumer<out TResult>
{
    /// <summary>Takes ownership of <paramref name="poller"/>.</summary>
    TResult Use<TPoller>(TPoller poller)
        where TPoller : struct, IPoller;
}

/// <summary>epoll as a type argument: every call goes straight to the sealed <see cref="EpollPoller"/>.</summary>
internal readonly struct EpollBackend(EpollPoller poller) : IPoller
{
    public string Name => poller.Name;

    public void Register(Source source, Token token, Interest interest) => poller.Register(source, token, interest);

    public void Reregister(Source source, Token token, Interest interest) => poller.Reregister(source, token, interest);

    public void Deregister(Source source) => poller.Deregister(source);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the loop's turn: docs/design.md, "The loop's hot path"
    public int Wait(Span<PollEvent> events, int timeoutMs) => poller.Wait(events, timeoutMs);

    public IWaker CreateWaker(Token token) => poller.CreateWaker(token);

    public void Dispose() => poller.Dispose();
}

/// <summary>kqueue as a type argument: every call goes straight to the sealed <see cref="KqueuePoller"/>.</summary>
internal readonly struct KqueueBackend(KqueuePoller poller) : IPoller
{
    public string Name => poller.Name;

    public void Register(Source source, Token token, Interest interest) => poller.Register(source, token, interest);

    public void Reregister(Source source, Token token, Interest interest) => poller.Reregister(source, token, interest);

    public void Deregister(Source source) => poller.Deregister(source);

    public int Wait(Span<PollEvent> events, int timeoutMs) => poller.Wait(events, timeoutMs);

    public IWaker CreateWaker(Token token) => poller.CreateWaker(token);

    public void Dispose() => poller.Dispose();
}

/// <summary>AFD polling (Windows) as a type argument: every call goes straight to the sealed <see cref="AfdPoller"/>.</summary>
internal readonly struct AfdBackend(AfdPoller poller) : IPoller
{
    public string Name => poller.Name;

    public void Register(Source source, Token token, Interest interest) => poller.Register(source, token, interest);

    public void Reregister(Source source, Token token, Interest interest) => poller.Reregister(source, token, interest);

    public void Deregister(Source source) => poller.Deregister(source);

    public int Wait(Span<PollEvent> events, int timeoutMs) => poller.Wait(events, timeoutMs);

    public IWaker CreateWaker(Token token) => poller.CreateWaker(token);

    public void Dispose() => poller.Dispose();
}

/// <summary>Any other <see cref="IPoller"/> (one a user wrote, a test's fake) as a type argument, called through the interface.</summary>
internal readonly struct InterfaceBackend(IPoller poller) : IPoller
{
    public string Name => poller.Name;

    public void Register(Source source, Token token, Interest interest) => poller.Register(source, token, interest);

    public void Reregister(Source source, Token token, Interest interest) => poller.Reregister(source, token, interest);

    public void Deregister(Source source) => poller.Deregister(source);

    public int Wait(Span<PollEvent> events, int timeoutMs) => poller.Wait(events, timeoutMs);

    public IWaker CreateWaker(Token token) => poller.CreateWaker(token);

    public void Dispose() => poller.Dispose();
}
