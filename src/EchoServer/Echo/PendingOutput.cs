using System.Buffers;

namespace EchoServer.Echo;

/// <summary>
/// Bytes read from a client that the kernel has not yet taken back, in order. Holds a pooled
/// array only while it is non-empty, so an idle or keeping-up connection owns no buffer at all.
/// </summary>
internal struct PendingOutput
{
    private byte[]? _buffer;
    private int _start;
    private int _end;

    public readonly int Count => _end - _start;

    public readonly ReadOnlySpan<byte> Span => _buffer.AsSpan(_start, _end - _start);

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(bytes.Length, 16 * 1024));
            _start = _end = 0;
        }
        else if (_buffer.Length - _end < bytes.Length)
        {
            var count = Count;
            if (_buffer.Length - count >= bytes.Length)
            {
                // Room exists once the already-sent prefix is dropped: slide the unsent bytes down.
                _buffer.AsSpan(_start, count).CopyTo(_buffer);
            }
            else
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, count + bytes.Length));
                _buffer.AsSpan(_start, count).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            _start = 0;
            _end = count;
        }

        bytes.CopyTo(_buffer.AsSpan(_end));
        _end += bytes.Length;
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
