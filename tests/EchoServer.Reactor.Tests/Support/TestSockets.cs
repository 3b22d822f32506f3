using System.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>
/// A non-blocking TCP stream the poller tests drive: the library's own <see cref="Reactor.Net.StreamSocket"/> on Unix, a Winsock
/// socket on Windows (<see cref="WinsockTestStream"/>), so the one contract suite runs against every backend.
/// </summary>
internal abstract class TestStream : IDisposable
{
    public abstract Source Source { get; }

    public abstract IPEndPoint? LocalEndPoint { get; }

    public abstract IPEndPoint? RemoteEndPoint { get; }

    /// <summary>The library's own socket underneath, for tests of the library's Unix-only APIs (splice).</summary>
    public virtual Reactor.Net.StreamSocket Library => throw new PlatformNotSupportedException("a Winsock test stream has no library StreamSocket");

    /// <summary>Starts a non-blocking connect (see <see cref="Reactor.Net.StreamSocket.Connect"/>); throws if it fails at once.</summary>
    public static TestStream Connect(IPEndPoint endPoint) =>
        OperatingSystem.IsWindows() ? WinsockTestStream.Connect(endPoint) : new UnixTestStream(Reactor.Net.StreamSocket.Connect(endPoint));

    /// <summary>Bytes read; 0 at end of stream; -1 with <paramref name="errno"/>.</summary>
    public abstract int Read(Span<byte> buffer, out Errno errno);

    /// <summary>Bytes written, or -1 with <paramref name="errno"/>.</summary>
    public abstract int Write(ReadOnlySpan<byte> data, out Errno errno);

    public abstract Errno ShutdownWrite();

    /// <summary>Makes the close send RST (SO_LINGER 0).</summary>
    public abstract Errno SetResetOnClose();

    /// <summary>Reads and clears SO_ERROR.</summary>
    public abstract Errno TakeError();

    public abstract void Dispose();
}

/// <summary>A non-blocking TCP listener for the poller tests, per OS as <see cref="TestStream"/>.</summary>
internal abstract class TestListener : IDisposable
{
    public abstract Source Source { get; }

    public abstract IPEndPoint LocalEndPoint { get; }

    /// <summary>A listener on <paramref name="endPoint"/> (port 0: any free port).</summary>
    public static TestListener Bind(IPEndPoint endPoint) =>
        OperatingSystem.IsWindows() ? WinsockTestListener.Bind(endPoint) : new UnixTestListener(Reactor.Net.TcpListener.Bind(endPoint));

    public abstract bool TryAccept(out TestStream accepted, out Errno errno);

    /// <summary>SO_OOBINLINE, which accepted sockets inherit.</summary>
    public abstract Errno SetOobInline(bool on);

    public abstract void Dispose();
}

/// <summary>The library's own stream socket (Linux, macOS, FreeBSD).</summary>
internal sealed class UnixTestStream(Reactor.Net.StreamSocket socket) : TestStream
{
    private bool _open = true;

    public override Source Source => socket.Source;

    public override Reactor.Net.StreamSocket Library => socket;

    public override IPEndPoint? LocalEndPoint => socket.LocalEndPoint;

    public override IPEndPoint? RemoteEndPoint => socket.RemoteEndPoint;

    public override int Read(Span<byte> buffer, out Errno errno) => socket.Read(buffer, out errno);

    public override int Write(ReadOnlySpan<byte> data, out Errno errno) => socket.Write(data, out errno);

    public override Errno ShutdownWrite() => socket.ShutdownWrite();

    public override Errno SetResetOnClose() => socket.SetResetOnClose();

    public override Errno TakeError() => socket.TakeError();

    public override void Dispose()
    {
        if (_open)
        {
            _open = false;
            socket.Dispose();
        }
    }
}

/// <summary>The library's own TCP listener (Linux, macOS, FreeBSD).</summary>
internal sealed class UnixTestListener(Reactor.Net.TcpListener listener) : TestListener
{
    public override Source Source => listener.Source;

    public override IPEndPoint LocalEndPoint => listener.LocalEndPoint;

    public override bool TryAccept(out TestStream accepted, out Errno errno)
    {
        var ok = listener.TryAccept(out var socket, out errno);
        accepted = ok ? new UnixTestStream(socket) : null!;
        return ok;
    }

    public override Errno SetOobInline(bool on) => listener.SetOobInline(on);

    public override void Dispose() => listener.Dispose();
}
