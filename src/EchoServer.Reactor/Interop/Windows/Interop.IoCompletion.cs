using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>OVERLAPPED_ENTRY { ULONG_PTR lpCompletionKey; LPOVERLAPPED lpOverlapped; ULONG_PTR Internal;
/// DWORD dwNumberOfBytesTransferred; }</c> (minwinbase.h): 32 bytes on 64-bit Windows.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OverlappedEntry
{
    public nuint CompletionKey;
    public void* Overlapped;
    public nuint Internal;
    public uint NumberOfBytesTransferred;
}

internal static unsafe partial class Kernel32
{
    private const string Name = "kernel32.dll";

    /// <summary>winerror.h WAIT_TIMEOUT: GetQueuedCompletionStatusEx dequeued nothing before its timeout.</summary>
    public const int WAIT_TIMEOUT = 258;

    /// <summary>winerror.h ERROR_ABANDONED_WAIT_0: the port was closed while a thread waited on it.</summary>
    public const int ERROR_ABANDONED_WAIT_0 = 735;

    // The Win32 imports set the thread's last error, which the marshaller saves right after the call
    // (SetLastError = true): anything the runtime calls in between could overwrite it.

    // HANDLE CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort, ULONG_PTR CompletionKey,
    //   DWORD NumberOfConcurrentThreads);
    [LibraryImport(Name, EntryPoint = "CreateIoCompletionPort", SetLastError = true)]
    private static partial nint CreateIoCompletionPort(nint fileHandle, nint existingCompletionPort, nuint completionKey, uint numberOfConcurrentThreads);

    // BOOL GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries, ULONG ulCount,
    //   PULONG ulNumEntriesRemoved, DWORD dwMilliseconds, BOOL fAlertable);
    [LibraryImport(Name, EntryPoint = "GetQueuedCompletionStatusEx", SetLastError = true)]
    private static partial int GetQueuedCompletionStatusEx(nint port, OverlappedEntry* entries, uint count, uint* removed, uint milliseconds, int alertable);

    // BOOL PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred, ULONG_PTR dwCompletionKey,
    //   LPOVERLAPPED lpOverlapped);
    [LibraryImport(Name, EntryPoint = "PostQueuedCompletionStatus", SetLastError = true)]
    private static partial int PostQueuedCompletionStatus(nint port, uint bytesTransferred, nuint completionKey, void* overlapped);

    // BOOL CloseHandle(HANDLE hObject);
    [LibraryImport(Name, EntryPoint = "CloseHandle", SetLastError = true)]
    private static partial int CloseHandle(nint handle);

    /// <summary>A new completion port (any number of threads may dequeue); 0 on failure.</summary>
    internal static nint CreatePort(out Errno errno)
    {
        var port = CreateIoCompletionPort(-1, 0, 0, 0);
        errno = port == 0 ? LastError : Errno.None;
        return port;
    }

    /// <summary>Associates <paramref name="handle"/> with <paramref name="port"/>: its completions arrive there with <paramref name="key"/>.</summary>
    internal static Errno Associate(nint port, nint handle, nuint key) =>
        CreateIoCompletionPort(handle, port, key, 0) == 0 ? LastError : Errno.None;

    /// <summary>
    /// Dequeues up to <paramref name="count"/> completions, waiting at most <paramref name="timeoutMs"/> (-1: no limit).
    /// Returns how many; 0 on timeout; -1 on failure with <paramref name="errno"/>.
    /// </summary>
    internal static int Dequeue(nint port, OverlappedEntry* entries, int count, int timeoutMs, out Errno errno)
    {
        uint removed = 0;
        if (GetQueuedCompletionStatusEx(port, entries, (uint)count, &removed, unchecked((uint)timeoutMs), 0) != 0)
        {
            errno = Errno.None;
            return (int)removed;
        }

        errno = LastError;
        return errno.Value == WAIT_TIMEOUT ? 0 : -1;
    }

    /// <summary>Queues a completion with <paramref name="key"/> and no OVERLAPPED (how a waker's packet is told apart).</summary>
    internal static Errno Post(nint port, nuint key) =>
        PostQueuedCompletionStatus(port, 0, key, null) != 0 ? Errno.None : LastError;

    /// <summary>Closes a kernel handle once: zeroes <paramref name="handle"/> first, so a second call does nothing.</summary>
    internal static void CloseOnce(ref nint handle)
    {
        var h = Interlocked.Exchange(ref handle, 0);
        if (h != 0)
        {
            _ = CloseHandle(h);
        }
    }

    private static Errno LastError => new(Marshal.GetLastPInvokeError());
}
