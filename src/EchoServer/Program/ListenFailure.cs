using EchoServer.Reactor;

namespace EchoServer.Program;

/// <summary>What was being opened when a listening socket failed.</summary>
internal enum ListenTransport
{
    Tcp,
    Udp,
    Unix,
}

/// <summary>
/// A listening socket for a --bind address could not be opened (socket, setsockopt, bind or listen failed): the address,
/// the transport and the errno, so the host words the error for a person and exits 1.
/// </summary>
internal sealed class ListenFailure(ListenAddress address, ListenTransport transport, SyscallException cause)
    : Exception($"cannot listen on {(transport == ListenTransport.Udp ? "UDP " : string.Empty)}{address}: {cause.Errno}", cause)
{
    public ListenAddress Address { get; } = address;

    public ListenTransport Transport { get; } = transport;

    public Errno Errno { get; } = cause.Errno;

    /// <summary>Runs <paramref name="open"/>; a failed syscall in it becomes a <see cref="ListenFailure"/> for <paramref name="address"/>.</summary>
    public static T Wrap<T>(ListenAddress address, ListenTransport transport, Func<T> open)
    {
        try
        {
            return open();
        }
        catch (SyscallException e)
        {
            throw new ListenFailure(address, transport, e);
        }
    }
}
