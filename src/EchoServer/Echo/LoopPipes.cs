using EchoServer.Reactor.Net;

namespace EchoServer.Echo;

/// <summary>
/// The splice pipes of one event loop (Linux, --zero-copy on). Every splicing connection of the loop
/// echoes through one loop pipe, which is empty again before the next connection uses it, so echoing
/// costs no descriptors per connection. Only a connection whose socket refuses part of a splice keeps
/// a pipe: it takes the loop pipe with those bytes as its owed output, and the loop takes an empty
/// spare in its place. Spares come back once their bytes have gone out. docs/design.md, "Zero-copy echo".
/// </summary>
internal sealed class LoopPipes(int pipeBytes, int maxPipes) : IDisposable
{
    /// <summary>Empty pipes kept for reuse; beyond this, a drained pipe is closed.</summary>
    private const int MaxSpares = 16;

    /// <summary>After pipe2 fails (out of descriptors, or the pipe would sit in the headroom), wait this long before trying again.</summary>
    private const long RetryAfterMs = 1000;

    private readonly DescriptorHeadroom _headroom = new();
    private readonly SplicePipe?[] _spares = new SplicePipe?[MaxSpares];
    private int _spareCount;
    private SplicePipe? _loopPipe;
    private long _retryAtMs = long.MinValue;

    /// <summary>Pipes this loop has open (the loop pipe, spares, and pipes connections hold); for tests.</summary>
    public int OpenPipes { get; private set; }

    /// <summary>The loop pipe, empty; created on first use. Null while no pipe can be had (the caller reads and writes instead).</summary>
    public SplicePipe? LoopPipe(long nowMs) => _loopPipe ??= Take(nowMs);

    /// <summary>
    /// Hands the loop pipe, with the bytes it holds, to a connection, and puts an empty pipe in its place.
    /// </summary>
    /// <returns>The pipe now owned by the caller, or null if no replacement could be had (then the caller copies the bytes out instead).</returns>
    public SplicePipe? HandOver(long nowMs)
    {
        var fresh = Take(nowMs);
        if (fresh is null)
        {
            return null;
        }

        var owned = _loopPipe;
        _loopPipe = fresh;
        return owned;
    }

    /// <summary>Takes back a pipe a connection held: kept as a spare if empty, else closed (its bytes are owed to nobody now).</summary>
    public void Return(SplicePipe pipe)
    {
        if (pipe.Count == 0 && _spareCount < MaxSpares)
        {
            _spares[_spareCount++] = pipe;
            return;
        }

        pipe.Dispose();
        OpenPipes--;
    }

    /// <summary>Empties the loop pipe of bytes nobody will receive (their connection failed), or replaces it.</summary>
    public void DiscardLoopPipe(Span<byte> scratch)
    {
        if (_loopPipe is { } pipe && !pipe.Discard(scratch))
        {
            pipe.Dispose();
            OpenPipes--;
            _loopPipe = null;
        }
    }

    private SplicePipe? Take(long nowMs)
    {
        if (_spareCount > 0)
        {
            var spare = _spares[--_spareCount]!;
            _spares[_spareCount] = null;
            return spare;
        }

        if (nowMs < _retryAtMs || OpenPipes >= maxPipes)
        {
            return null;
        }

        var pipe = SplicePipe.TryCreate(pipeBytes, _headroom, out _);
        if (pipe is null)
        {
            _retryAtMs = nowMs + RetryAfterMs;
            return null;
        }

        OpenPipes++;
        return pipe;
    }

    public void Dispose()
    {
        _loopPipe?.Dispose();
        _loopPipe = null;
        for (var i = 0; i < _spareCount; i++)
        {
            _spares[i]!.Dispose();
            _spares[i] = null;
        }

        _spareCount = 0;
        OpenPipes = 0;
    }
}
