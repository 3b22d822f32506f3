using System.Runtime.CompilerServices;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Reactor;

/// <summary>
/// Hands out tokens: a slot index in the low 32 bits and that slot's generation in the high 32.
/// Freeing a slot bumps its generation, so an event already fetched for the old owner (the fd was
/// closed and its number reused within one batch — mio#219, mio#172) no longer matches and is dropped.
/// Slots are reused last-freed-first, which keeps the live part of the table small and cache-warm.
/// </summary>
/// <remarks>
/// Slots live in fixed chunks of <see cref="ChunkSize"/>, added as needed and never copied: a table
/// that doubled would hold up to twice the slots in use plus the garbage of every smaller copy, which
/// with 10,000 idle connections was a quarter of the server's memory per connection (docs/design.md,
/// "Memory per idle connection"). A slot is 16 bytes; free slots are chained through their fd field.
/// </remarks>
internal sealed class TokenSlab
{
    /// <summary>Slots per chunk (a power of two: a slot index splits into chunk and offset with a shift and a mask).</summary>
    public const int ChunkSize = 1024;

    private const int ChunkShift = 10;
    private const int NoFreeSlot = -1;

    private Slot[]?[] _chunks = new Slot[]?[4];
    private int _used;
    private int _firstFree = NoFreeSlot;

    public int Count { get; private set; }

    /// <summary>Slots the table has room for (whole chunks); for tests.</summary>
    public int Capacity { get; private set; }

    public Token Add(Source source, IReadinessHandler handler)
    {
        var fd = source.Fd;
        int index;
        if (_firstFree != NoFreeSlot)
        {
            index = _firstFree;
            _firstFree = SlotAt(index).Fd; // a free slot's fd field holds the next free slot
        }
        else
        {
            if (_used == Capacity)
            {
                AddChunk();
            }

            index = _used++;
            SlotAt(index).Generation = 1;
        }

        ref var slot = ref SlotAt(index);
        slot.Handler = handler;
        slot.Fd = fd;
        Count++;
        return Make(index, slot.Generation);
    }

    /// <summary>The handler of a live token; null for a freed or never-issued one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public IReadinessHandler? Get(Token token, out Source source)
    {
        var index = (int)(uint)token.Value;
        if ((uint)index < (uint)_used)
        {
            ref var slot = ref SlotAt(index);
            if (slot.Generation == (uint)(token.Value >> 32) && slot.Handler is { } handler)
            {
                source = Source.FromFd(slot.Fd);
                return handler;
            }
        }

        source = Source.None;
        return null;
    }

    public bool Remove(Token token)
    {
        if (Get(token, out _) is null)
        {
            return false;
        }

        var index = (int)(uint)token.Value;
        ref var slot = ref SlotAt(index);
        slot.Handler = null;
        slot.Fd = _firstFree;
        _firstFree = index;

        // Generation 0 is never issued, so a wrapped counter skips it.
        slot.Generation = slot.Generation == uint.MaxValue ? 1 : slot.Generation + 1;
        Count--;
        return true;
    }

    /// <summary>Every live token, for shutdown.</summary>
    public List<Token> LiveTokens()
    {
        var tokens = new List<Token>(Count);
        for (var index = 0; index < _used; index++)
        {
            ref var slot = ref SlotAt(index);
            if (slot.Handler is not null)
            {
                tokens.Add(Make(index, slot.Generation));
            }
        }

        return tokens;
    }

    private static Token Make(int index, uint generation) => new(((ulong)generation << 32) | (uint)index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Slot SlotAt(int index) => ref _chunks[index >> ChunkShift]![index & (ChunkSize - 1)];

    private void AddChunk()
    {
        var chunk = Capacity >> ChunkShift;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }

        _chunks[chunk] = new Slot[ChunkSize];
        Capacity += ChunkSize;
    }

    private struct Slot
    {
        public IReadinessHandler? Handler;

        /// <summary>
        /// The registered source's handle, in 32 bits (a Windows SOCKET too: only the low 32 bits of a kernel handle are
        /// significant); in a free slot, the index of the next free slot (or -1).
        /// </summary>
        public int Fd;

        public uint Generation;
    }
}
