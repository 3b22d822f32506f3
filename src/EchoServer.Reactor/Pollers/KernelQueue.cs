using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>
/// What both backends own and release alike: the kernel queue's fd (epoll or kqueue) and the native
/// buffer the kernel writes events into, freed once by <see cref="Dispose"/> or, if the owner forgot,
/// by the finalizer. Also the one rule for a wait's result.
/// </summary>
internal sealed unsafe class KernelQueue : IDisposable
{
    private readonly int _eventSize;
    private void* _buffer;
    private int _capacity;
    private volatile bool _disposed;

    /// <summary>Takes ownership of <paramref name="fd"/>, whose events are <paramref name="eventSize"/> bytes each.</summary>
    public KernelQueue(int fd, int eventSize)
    {
        Fd = fd;
        _eventSize = eventSize;
    }

    /// <summary>The queue's fd; not valid once <see cref="IsDisposed"/>.</summary>
    public int Fd { get; }

    /// <summary>True once the fd is closed. After that its number may belong to another file.</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// The event buffer, with room for as many native events as <paramref name="events"/> holds. It lives in
    /// native memory because the kernel writes into it, so the GC must never move it.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="events"/> is empty.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void* BufferFor(Span<PollEvent> events)
    {
        if (events.Length == 0)
        {
            throw new ArgumentException("The event buffer must hold at least one event.", nameof(events));
        }

        if (events.Length > _capacity)
        {
            NativeMemory.Free(_buffer);
            _buffer = NativeMemory.Alloc((nuint)events.Length, (nuint)_eventSize);
            _capacity = events.Length;
        }

        return _buffer;
    }

    /// <summary>
    /// The result of a wait call: the event count, or 0 when a signal interrupted it (the caller recomputes
    /// its timeout from its timers, so a wait is never retried here); any other error throws.
    /// </summary>
    /// <exception cref="SyscallException">The wait failed.</exception>
    public static int WaitResult(int n, Errno errno, string call) =>
        n >= 0 ? n : errno.IsInterrupted ? 0 : throw new SyscallException(call, errno);

    /// <summary>Closes the fd and frees the event buffer; later calls do nothing.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Release();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the fd and native memory if the owner forgot to dispose.</summary>
    ~KernelQueue()
    {
        if (!_disposed)
        {
            Release();
        }
    }

    private void Release()
    {
        _ = Libc.Close(Fd);
        NativeMemory.Free(_buffer);
        _buffer = null;
    }
}
