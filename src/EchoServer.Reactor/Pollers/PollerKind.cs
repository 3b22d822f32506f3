namespace EchoServer.Reactor.Pollers;

/// <summary>Which readiness backend to use under an <see cref="Reactor.EventLoop"/>.</summary>
public enum PollerKind
{
    /// <summary>The running OS's backend: epoll on Linux, kqueue on macOS and FreeBSD, AFD polling on Windows.</summary>
    Auto,

    /// <summary>epoll(7), Linux only.</summary>
    Epoll,

    /// <summary>kqueue(2): macOS and FreeBSD, or Linux over libkqueue after <see cref="PollerFactory.UseLibkqueue"/>.</summary>
    Kqueue,

    /// <summary>
    /// Windows only: readiness from the Winsock kernel driver (IOCTL_AFD_POLL on <c>\Device\Afd</c>) over an I/O
    /// completion port, as mio and wepoll do it; readiness, not overlapped I/O.
    /// </summary>
    Afd,
}
