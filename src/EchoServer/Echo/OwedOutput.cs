using System.Buffers;
using System.Diagnostics;
using EchoServer.Reactor;
using EchoServer.Reactor.Net;

namespace EchoServer.Echo;

/// <summary>
/// What one connection owes its client: the tail of one read that the kernel did not take back, either
/// copied into a pooled array or still in the pipe it was spliced into. A connection stops reading while
/// it holds one (see <see cref="EchoConnection"/>), so there is never more than one tail. Connections
/// borrow these from their loop (<see cref="EchoContext.RentOwed"/>) only while they owe something, so an
/// idle or keeping-up connection pays 8 bytes for the empty reference and nothing else.
/// </summary>
internal sealed class OwedOutput
{
    private byte[]? _buffer;
    private int _start;
    private int _end;

    /// <summary>The pipe that holds the tail, when it was spliced; null when it was copied.</summary>
    public SplicePipe? Pipe { get; private set; }

    public int Count => Pipe?.Count ?? _end - _start;

    /// <summary>
    /// The memory this holds, as charged to the loop's budget: the rented array's length (the pool rounds up to a power
    /// of two), or the bytes the pipe held when it was taken. Set when kept and unchanged until release, so charge and credit match.
    /// </summary>
    public int Footprint { get; private set; }

    /// <summary>Copies <paramref name="bytes"/> in; only valid while empty.</summary>
    public void Keep(ReadOnlySpan<byte> bytes)
    {
        Debug.Assert(Count == 0 && Pipe is null, "a connection stops reading while it owes bytes, so there is only ever one tail");
        _buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        bytes.CopyTo(_buffer);
        _start = 0;
        _end = bytes.Length;
        Footprint = _buffer.Length;
    }

    /// <summary>Takes <paramref name="pipe"/>, with the bytes in it, as the tail; only valid while empty.</summary>
    public void KeepPipe(SplicePipe pipe)
    {
        Debug.Assert(Count == 0 && Pipe is null, "a connection stops reading while it owes bytes, so there is only ever one tail");
        Pipe = pipe;
        Footprint = pipe.Count;
    }

    /// <summary>Sends what is owed to <paramref name="socket"/> until all of it has gone or the socket refuses.</summary>
    /// <param name="socket">The client's socket.</param>
    /// <param name="errno">Why it stopped short: EAGAIN (wait for writability) or an error; 0 when all went.</param>
    /// <returns>Bytes sent.</returns>
    public int FlushTo(StreamSocket socket, out Errno errno)
    {
        if (Pipe is { } pipe)
        {
            return pipe.DrainTo(socket, out errno);
        }

        var sent = 0;
        errno = default;
        while (_end > _start)
        {
            var written = socket.Write(_buffer.AsSpan(_start, _end - _start), out errno);
            if (written < 0)
            {
                break;
            }

            _start += written;
            sent += written;
        }

        return sent;
    }

    /// <summary>Empties this for reuse: the array goes back to the shared pool; the pipe, if any, is handed back to the caller.</summary>
    public SplicePipe? Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _start = _end = 0;
        Footprint = 0;
        var pipe = Pipe;
        Pipe = null;
        return pipe;
    }
}
