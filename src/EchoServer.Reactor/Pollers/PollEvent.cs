namespace EchoServer.Reactor.Pollers;

/// <summary>One readiness report: the token of the registration and what became ready.</summary>
/// <remarks>
/// kqueue reports the read and write filters of one fd as two events, epoll as one; a caller must
/// accept the same token twice in one batch.
/// </remarks>
/// <param name="Token">The token given at registration.</param>
/// <param name="Readiness">What the kernel reported.</param>
public readonly record struct PollEvent(Token Token, Readiness Readiness);
