using System.Net;
using System.Net.Sockets;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Net;

/// <summary>
/// The source or destination of one datagram, as the kernel wrote it: a copy of the raw socket
/// address, so receiving and answering a datagram allocates nothing. Equality and hashing cover the
/// family, port and IP (and IPv6 scope id), which makes it a dictionary key for per-source state.
/// </summary>
public readonly struct DatagramAddress : IEquatable<DatagramAddress>
{
    private readonly SockAddr _addr;
    private readonly uint _length;

    internal DatagramAddress(in SockAddr addr, uint length)
    {
        _addr = addr;
        _length = length;
    }

    /// <summary>False for <c>default</c>, which holds no address.</summary>
    public bool HasValue => _length != 0;

    /// <summary>The port, in host byte order.</summary>
    public int Port => _addr.Port;

    /// <summary>True for an IPv4 address (AF_INET).</summary>
    public bool IsIPv4 => _addr.Family == OsConstants.Current.AF_INET;

    /// <summary>True for an IPv6 address (AF_INET6), including IPv4-mapped ones.</summary>
    public bool IsIPv6 => _addr.Family == OsConstants.Current.AF_INET6;

    internal SockAddr Raw => _addr;

    internal uint Length => _length;

    /// <summary>Encodes an endpoint (allocates nothing after this; meant for setup and tests).</summary>
    public static DatagramAddress FromEndPoint(IPEndPoint endPoint)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        var length = SockAddr.Encode(endPoint, out var addr);
        return new DatagramAddress(addr, length);
    }

    /// <summary>The same host with port 0: the key for "everything from this IP".</summary>
    public DatagramAddress WithoutPort() => new(SockAddrOps.WithoutPort(_addr), _length);

    /// <summary>Decodes into an <see cref="IPEndPoint"/> (allocates; for logging), or null for an unknown family.</summary>
    public IPEndPoint? ToEndPoint() => HasValue ? _addr.Decode() : null;

    /// <inheritdoc/>
    public bool Equals(DatagramAddress other) => _length == other._length && SockAddrOps.Equal(_addr, other._addr);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DatagramAddress other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => SockAddrOps.Hash(_addr);

    /// <inheritdoc/>
    public override string ToString() => ToEndPoint()?.ToString() ?? "(no address)";

    /// <summary>Equality of address bytes.</summary>
    public static bool operator ==(DatagramAddress left, DatagramAddress right) => left.Equals(right);

    /// <summary>Inequality of address bytes.</summary>
    public static bool operator !=(DatagramAddress left, DatagramAddress right) => !left.Equals(right);
}

/// <summary>
/// A bound, non-blocking, close-on-exec UDP socket (libc on Unix, Winsock on Windows). Register <see cref="Source"/> as
/// <see cref="Pollers.Interest.Readable"/> and call <see cref="ReceiveFrom"/> until it reports EAGAIN.
/// </summary>
public sealed class UdpSocket : IDisposable
{
    private nint _handle;

    private UdpSocket(nint handle, IPEndPoint localEndPoint)
    {
        _handle = handle;
        LocalEndPoint = localEndPoint;
    }

    /// <summary>What to register with the event loop (<see cref="Source.None"/> once disposed).</summary>
    public Source Source => new(_handle);

    /// <summary>The bound address, with the real port when port 0 was asked for.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Creates and binds a UDP socket.</summary>
    /// <param name="endPoint">The address; port 0 picks a free port.</param>
    /// <exception cref="SyscallException">socket or bind failed; <see cref="SyscallException.Errno"/> says why.</exception>
    public static UdpSocket Bind(IPEndPoint endPoint)
    {
        if (OperatingSystem.IsWindows())
        {
            var socket = WinsockDatagrams.Bind(endPoint, out var local);
            return new UdpSocket(socket, local);
        }

        var fd = IpSocket.Open(endPoint, OsConstants.Current.SOCK_DGRAM, out var addr, out var length);
        try
        {
            SyscallException.ThrowIfError("bind", Libc.Bind(fd, addr, length));
            SyscallException.ThrowIfError("getsockname", Libc.GetSockName(fd, out var bound));
            return new UdpSocket(fd, bound.Decode() ?? endPoint);
        }
        catch
        {
            _ = Libc.Close(fd);
            throw;
        }
    }

    /// <summary>
    /// Takes over a bound UDP socket this process inherited (systemd socket activation): sets O_NONBLOCK and
    /// FD_CLOEXEC, and closes it on dispose.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="source"/> is not a UDP socket bound to a port.</exception>
    /// <exception cref="SyscallException">fcntl failed.</exception>
    public static UdpSocket Adopt(Source source)
    {
        var description = SocketDescription.TakeOver(source.Fd, d => d.IsBoundUdp, "a bound UDP socket");
        return new UdpSocket(source.Fd, description.LocalEndPoint!);
    }

    /// <summary>Receives one datagram and its source. Allocates nothing.</summary>
    /// <param name="buffer">Where the payload goes; a longer datagram is truncated to it.</param>
    /// <param name="source">The sender, to answer with <see cref="SendTo(ReadOnlySpan{byte}, in DatagramAddress, out Errno)"/>.</param>
    /// <param name="errno">EAGAIN when no datagram is queued.</param>
    /// <returns>The payload length (0 is a valid, empty datagram), or -1 with <paramref name="errno"/> set.</returns>
    public int ReceiveFrom(Span<byte> buffer, out DatagramAddress source, out Errno errno)
    {
        var n = OperatingSystem.IsWindows()
            ? WinsockDatagrams.ReceiveFrom(_handle, buffer, out var addr, out var length, out errno)
            : Libc.ReceiveFrom((int)_handle, buffer, out addr, out length, out errno);
        source = n < 0 ? default : new DatagramAddress(addr, length);
        return n;
    }

    /// <summary>Sends one datagram to <paramref name="destination"/>. Allocates nothing.</summary>
    /// <param name="buffer">The whole payload; may be empty (a 0-byte datagram).</param>
    /// <param name="destination">Where to send it, typically the source of a received datagram.</param>
    /// <param name="errno">EAGAIN when the send buffer is full (a datagram socket does not queue it for later).</param>
    /// <returns>The bytes sent, or -1 with <paramref name="errno"/> set.</returns>
    public int SendTo(ReadOnlySpan<byte> buffer, in DatagramAddress destination, out Errno errno)
    {
        if (!destination.HasValue)
        {
            throw new ArgumentException("The destination holds no address.", nameof(destination));
        }

        return OperatingSystem.IsWindows()
            ? WinsockDatagrams.SendTo(_handle, buffer, destination.Raw, destination.Length, out errno)
            : Libc.SendTo((int)_handle, buffer, destination.Raw, destination.Length, out errno);
    }

    /// <summary>Sends one datagram to <paramref name="destination"/> (encodes the endpoint each call).</summary>
    public int SendTo(ReadOnlySpan<byte> buffer, IPEndPoint destination, out Errno errno)
    {
        var address = DatagramAddress.FromEndPoint(destination);
        return SendTo(buffer, address, out errno);
    }

    /// <summary>Closes the socket. Deregister it from its poller first.</summary>
    public void Dispose() => SocketCalls.CloseOnce(ref _handle);
}
