using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// Mirrors <c>IO_STATUS_BLOCK</c> (wdm.h): <c>{ union { NTSTATUS Status; PVOID Pointer; }; ULONG_PTR Information; }</c>,
/// 16 bytes on 64-bit Windows. The kernel writes it when the request completes, so it must stay at one address until then.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct IoStatusBlock
{
    /// <summary>The union: an NTSTATUS in its low 32 bits.</summary>
    public nint StatusOrPointer;
    public nuint Information;

    public readonly int Status => unchecked((int)StatusOrPointer);
}

/// <summary>
/// Mirrors <c>AFD_POLL_HANDLE_INFO { HANDLE Handle; ULONG Events; NTSTATUS Status; }</c> (not in the SDK headers; the
/// layout of ReactOS's <c>drivers/afd/shared.h</c>, mio's <c>src/sys/windows/afd.rs</c> and wepoll's <c>afd.h</c>): 16 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AfdPollHandleInfo
{
    public nint Handle;
    public uint Events;
    public int Status;
}

/// <summary>
/// Mirrors <c>AFD_POLL_INFO { LARGE_INTEGER Timeout; ULONG NumberOfHandles; ULONG Exclusive;
/// AFD_POLL_HANDLE_INFO Handles[1]; }</c> with one handle (same sources): 32 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AfdPollInfo
{
    public long Timeout;
    public uint NumberOfHandles;
    public uint Exclusive;
    public AfdPollHandleInfo Handle0;
}

/// <summary>Mirrors <c>UNICODE_STRING { USHORT Length; USHORT MaximumLength; PWSTR Buffer; }</c> (ntdef.h): 16 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct UnicodeString
{
    public ushort Length;
    public ushort MaximumLength;
    public char* Buffer;
}

/// <summary>
/// Mirrors <c>OBJECT_ATTRIBUTES { ULONG Length; HANDLE RootDirectory; PUNICODE_STRING ObjectName; ULONG Attributes;
/// PVOID SecurityDescriptor; PVOID SecurityQualityOfService; }</c> (ntdef.h): 48 bytes.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ObjectAttributes
{
    public uint Length;
    public nint RootDirectory;
    public UnicodeString* ObjectName;
    public uint Attributes;
    public void* SecurityDescriptor;
    public void* SecurityQualityOfService;
}

/// <summary>
/// The Ancillary Function Driver's poll request (afd.sys, the kernel side of Winsock), as mio and wepoll use it:
/// undocumented but stable since Windows Vista. Event bits from ReactOS's <c>sdk/include/reactos/drivers/afd/shared.h</c>.
/// </summary>
internal static class AfdConstants
{
    /// <summary>A device path under <c>\Device\Afd</c>; the part after it is any name (mio uses "Mio", wepoll "Wepoll").</summary>
    public const string DevicePath = @"\Device\Afd\EchoServer";

    public const uint IOCTL_AFD_POLL = 0x00012024;

    public const uint AFD_POLL_RECEIVE = 0x0001;
    public const uint AFD_POLL_RECEIVE_EXPEDITED = 0x0002;
    public const uint AFD_POLL_SEND = 0x0004;
    public const uint AFD_POLL_DISCONNECT = 0x0008;
    public const uint AFD_POLL_ABORT = 0x0010;
    public const uint AFD_POLL_LOCAL_CLOSE = 0x0020;
    public const uint AFD_POLL_ACCEPT = 0x0080;
    public const uint AFD_POLL_CONNECT_FAIL = 0x0100;

    // ntstatus.h
    public const int STATUS_SUCCESS = 0;
    public const int STATUS_PENDING = 0x103;
    public const int STATUS_CANCELLED = unchecked((int)0xC0000120);
    public const int STATUS_INVALID_HANDLE = unchecked((int)0xC0000008);
    public const int STATUS_NOT_FOUND = unchecked((int)0xC0000225);

    // winnt.h / wdm.h, for NtCreateFile
    public const uint SYNCHRONIZE = 0x00100000;
    public const uint FILE_SHARE_READ = 0x1;
    public const uint FILE_SHARE_WRITE = 0x2;
    public const uint FILE_OPEN = 0x1;
}

internal static unsafe partial class Ntdll
{
    private const string Name = "ntdll.dll";

    // NTSTATUS NtCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
    //   PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes, ULONG ShareAccess,
    //   ULONG CreateDisposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength);
    [LibraryImport(Name, EntryPoint = "NtCreateFile")]
    private static partial int NtCreateFile(
        nint* fileHandle, uint desiredAccess, ObjectAttributes* objectAttributes, IoStatusBlock* ioStatusBlock,
        long* allocationSize, uint fileAttributes, uint shareAccess, uint createDisposition, uint createOptions,
        void* eaBuffer, uint eaLength);

    // NTSTATUS NtDeviceIoControlFile(HANDLE FileHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
    //   PIO_STATUS_BLOCK IoStatusBlock, ULONG IoControlCode, PVOID InputBuffer, ULONG InputBufferLength,
    //   PVOID OutputBuffer, ULONG OutputBufferLength);
    [LibraryImport(Name, EntryPoint = "NtDeviceIoControlFile")]
    private static partial int NtDeviceIoControlFile(
        nint fileHandle, nint eventHandle, void* apcRoutine, void* apcContext, IoStatusBlock* ioStatusBlock,
        uint ioControlCode, void* inputBuffer, uint inputBufferLength, void* outputBuffer, uint outputBufferLength);

    // NTSTATUS NtCancelIoFileEx(HANDLE FileHandle, PIO_STATUS_BLOCK IoRequestToCancel, PIO_STATUS_BLOCK IoStatusBlock);
    [LibraryImport(Name, EntryPoint = "NtCancelIoFileEx")]
    private static partial int NtCancelIoFileEx(nint fileHandle, IoStatusBlock* ioRequestToCancel, IoStatusBlock* ioStatusBlock);

    // ULONG RtlNtStatusToDosError(NTSTATUS Status);
    [LibraryImport(Name, EntryPoint = "RtlNtStatusToDosError")]
    private static partial uint RtlNtStatusToDosError(int status);

    /// <summary>Opens a handle on <see cref="AfdConstants.DevicePath"/> (SYNCHRONIZE only, as mio does); returns 0 on failure.</summary>
    internal static nint OpenAfd(out Errno errno)
    {
        fixed (char* path = AfdConstants.DevicePath)
        {
            var name = new UnicodeString
            {
                Length = (ushort)(AfdConstants.DevicePath.Length * sizeof(char)),
                MaximumLength = (ushort)(AfdConstants.DevicePath.Length * sizeof(char)),
                Buffer = path,
            };
            var attributes = new ObjectAttributes { Length = (uint)sizeof(ObjectAttributes), ObjectName = &name };
            IoStatusBlock status = default;
            nint handle = 0;
            var result = NtCreateFile(
                &handle, AfdConstants.SYNCHRONIZE, &attributes, &status, null, 0,
                AfdConstants.FILE_SHARE_READ | AfdConstants.FILE_SHARE_WRITE, AfdConstants.FILE_OPEN, 0, null, 0);
            errno = ToErrno(result);
            return result == AfdConstants.STATUS_SUCCESS ? handle : 0;
        }
    }

    /// <summary>
    /// Submits IOCTL_AFD_POLL for the one handle in <paramref name="info"/>, which is both input and output. Returns the
    /// NTSTATUS: SUCCESS or PENDING both mean a completion will be queued to the port the AFD handle is associated with,
    /// carrying <paramref name="context"/>; until then the kernel may write into <paramref name="status"/> and <paramref name="info"/>.
    /// </summary>
    internal static int AfdPoll(nint afd, IoStatusBlock* status, AfdPollInfo* info, void* context)
    {
        status->StatusOrPointer = AfdConstants.STATUS_PENDING;
        return NtDeviceIoControlFile(
            afd, 0, null, context, status, AfdConstants.IOCTL_AFD_POLL, info, (uint)sizeof(AfdPollInfo), info, (uint)sizeof(AfdPollInfo));
    }

    /// <summary>
    /// Asks the kernel to cancel the request whose status block is <paramref name="status"/>. Its completion (STATUS_CANCELLED,
    /// or its result if it finished first) is still queued to the port. Not found (already finished) is not an error.
    /// </summary>
    internal static Errno CancelAfdPoll(nint afd, IoStatusBlock* status)
    {
        IoStatusBlock cancel = default;
        var result = NtCancelIoFileEx(afd, status, &cancel);
        return result is AfdConstants.STATUS_SUCCESS or AfdConstants.STATUS_NOT_FOUND ? Errno.None : ToErrno(result);
    }

    /// <summary>An NTSTATUS as the Win32 error number it maps to (0 for success).</summary>
    internal static Errno ToErrno(int status) => status == AfdConstants.STATUS_SUCCESS ? Errno.None : new Errno((int)RtlNtStatusToDosError(status));
}
