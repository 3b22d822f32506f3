using System.Buffers;
using System.Diagnostics;

namespace EchoServer.Echo;

/// <summary>
/// The tail of one read that the kernel did not take back, kept until it can be sent. A connection
/// stops reading while it holds any (see <see cref="EchoConnection"/>), so there is never more than
/// one tail: it is copied in once and sent from the front. The pooled array is held only while the
/// tail is non-empty, so an idle or keeping-up connection owns no buffer at all.
/// </summary>
internal struct PendingOutput
{
    private byte[]? _buffer;
    private int _start;
    private int _end;

    public readonly int Count => _end - _start;

    public readonly ReadOnlySpan<byte> Span => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Keeps <paramref name="bytes"/>; only valid while nothing is pending.</summary>
    public void Keep(ReadOnlySpan<byte> bytes)
    {
        Debug.Assert(Count == 0, "a connection stops reading while it owes bytes, so there is only ever one tail");
        _buffer ??= ArrayPool<byte>.Shared.Rent(bytes.Length);
        if (_buffer.Length < bytes.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = ArrayPool<byte>.Shared.Rent(bytes.Length);
        }

        bytes.CopyTo(_buffer);
        _start = 0;
        _end = bytes.Length;
    }

    /// <summary>Drops <paramref name="count"/> sent bytes from the front; returns the array to the pool once empty.</summary>
    public void Consume(int count)
    {
        _start += count;
        if (_start == _end)
        {
            Release();
        }
    }

    public void Release()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = null;
        }

        _start = _end = 0;
    }
}
