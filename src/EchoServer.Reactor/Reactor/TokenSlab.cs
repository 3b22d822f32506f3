using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// Hands out tokens: a slot index in the low 32 bits and that slot's generation in the high 32.
/// Freeing a slot bumps its generation, so an event already fetched for the old owner (the fd was
/// closed and its number reused within one batch — mio#219, mio#172) no longer matches and is dropped.
/// Slots are reused last-freed-first, which keeps the live part of the arrays small and cache-warm.
/// </summary>
internal sealed class TokenSlab
{
    private IReadinessHandler?[] _handlers = new IReadinessHandler?[64];
    private int[] _fds = new int[64];
    private uint[] _generations = new uint[64];
    private int[] _free = new int[64];
    private int _freeCount;
    private int _used;

    public int Count { get; private set; }

    public Token Add(int fd, IReadinessHandler handler)
    {
        int slot;
        if (_freeCount > 0)
        {
            slot = _free[--_freeCount];
        }
        else
        {
            if (_used == _handlers.Length)
            {
                Grow();
            }

            slot = _used++;
            _generations[slot] = 1;
        }

        _handlers[slot] = handler;
        _fds[slot] = fd;
        Count++;
        return Make(slot, _generations[slot]);
    }

    /// <summary>The handler of a live token; null for a freed or never-issued one.</summary>
    public IReadinessHandler? Get(Token token, out int fd)
    {
        var slot = (int)(uint)token.Value;
        var generation = (uint)(token.Value >> 32);
        if ((uint)slot < (uint)_used && _generations[slot] == generation)
        {
            fd = _fds[slot];
            return _handlers[slot];
        }

        fd = -1;
        return null;
    }

    public bool Remove(Token token)
    {
        if (Get(token, out _) is null)
        {
            return false;
        }

        var slot = (int)(uint)token.Value;
        _handlers[slot] = null;
        _fds[slot] = -1;

        // Generation 0 is never issued, so a wrapped counter skips it.
        _generations[slot] = _generations[slot] == uint.MaxValue ? 1 : _generations[slot] + 1;
        if (_freeCount == _free.Length)
        {
            Array.Resize(ref _free, _free.Length * 2);
        }

        _free[_freeCount++] = slot;
        Count--;
        return true;
    }

    /// <summary>Every live token, for shutdown.</summary>
    public List<Token> LiveTokens()
    {
        var tokens = new List<Token>(Count);
        for (var slot = 0; slot < _used; slot++)
        {
            if (_handlers[slot] is not null)
            {
                tokens.Add(Make(slot, _generations[slot]));
            }
        }

        return tokens;
    }

    private static Token Make(int slot, uint generation) => new(((ulong)generation << 32) | (uint)slot);

    private void Grow()
    {
        var size = _handlers.Length * 2;
        Array.Resize(ref _handlers, size);
        Array.Resize(ref _fds, size);
        Array.Resize(ref _generations, size);
    }
}
