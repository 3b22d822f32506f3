namespace EchoServer.Reactor.Pollers;

/// <summary>
/// An opaque value a poller hands back with every event of a registered fd (epoll's
/// <c>data.u64</c>, kqueue's <c>udata</c>). The <see cref="Reactor.EventLoop"/> packs a slot index and
/// a generation into it; a poller never looks inside.
/// </summary>
/// <param name="Value">The 64 bits stored in the kernel with the registration.</param>
public readonly record struct Token(ulong Value)
{
    /// <inheritdoc/>
    public override string ToString() => $"Token({Value:x})";
}
