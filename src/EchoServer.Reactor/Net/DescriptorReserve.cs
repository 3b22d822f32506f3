using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Net;

/// <summary>
/// A few file descriptors held back so that the process keeps some headroom when it runs out (EMFILE).
/// </summary>
/// <remarks>
/// <para>A server that accepts until the descriptor table is full leaves nothing for anyone else in the
/// process, and the .NET runtime needs descriptors too: creating a thread opens a pipe, and a signal
/// handler runs on a thread the runtime may have to create. Out of descriptors, SIGTERM then aborts the
/// process instead of stopping it.</para>
/// <para>The fix (after libuv's reserve-fd trick, joyent/libuv#690): hold a few placeholder descriptors
/// while all is well; when accept(2) reports EMFILE/ENFILE, <see cref="Release"/> them, so the runtime
/// has room while the listener backs off; before accepting again, <see cref="TryAcquire"/> them back,
/// and keep backing off while that fails. The placeholders are unbound UDP sockets: cheap, portable,
/// close-on-exec.</para>
/// </remarks>
public sealed class DescriptorReserve : IDisposable
{
    private readonly int[] _fds;
    private int _held;

    /// <summary>Acquires up to <paramref name="count"/> placeholder descriptors.</summary>
    public DescriptorReserve(int count = 8)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _fds = new int[count];
        TryAcquire();
    }

    /// <summary>How many placeholder descriptors are held now.</summary>
    public int Held => _held;

    /// <summary>Takes the reserve back to its full size.</summary>
    /// <returns>False if the process is still out of descriptors (what could be taken is kept).</returns>
    public bool TryAcquire()
    {
        var c = OsConstants.Current;
        while (_held < _fds.Length)
        {
            var fd = Libc.Socket(c.AF_INET, c.SOCK_DGRAM, out _);
            if (fd < 0)
            {
                return false;
            }

            _fds[_held++] = fd;
        }

        return true;
    }

    /// <summary>Closes every placeholder, handing the descriptors back to the process.</summary>
    public void Release()
    {
        while (_held > 0)
        {
            _ = Libc.Close(_fds[--_held]);
        }
    }

    /// <summary>Releases the reserve.</summary>
    public void Dispose() => Release();
}
