using System.Net;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// The socket calls the library's stream sockets make, on the running OS: libc on Unix (a handle is an fd), ws2_32 on
/// Windows (a handle is a <c>SOCKET</c>). <c>OperatingSystem.IsWindows()</c> is a constant the JIT folds, so the Unix
/// path costs nothing more than the libc call.
/// </summary>
internal static partial class SocketCalls
{
    public static Errno Shutdown(nint handle, int how) =>
        OperatingSystem.IsWindows() ? Ws2_32.Shutdown(handle, how) : Libc.Shutdown((int)handle, how);

    public static Errno SetOption(nint handle, int level, int name, int value) =>
        OperatingSystem.IsWindows() ? Ws2_32.SetOption(handle, level, name, value) : Libc.SetSocketOption((int)handle, level, name, value);

    public static Errno GetOption(nint handle, int level, int name, out int value) =>
        OperatingSystem.IsWindows() ? Ws2_32.GetOption(handle, level, name, out value) : Libc.GetSocketOption((int)handle, level, name, out value);

    /// <summary>SO_LINGER on with a zero timeout: the close sends RST.</summary>
    public static Errno SetLingerZero(nint handle) =>
        OperatingSystem.IsWindows() ? Ws2_32.SetResetOnClose(handle) : Libc.SetLingerZero((int)handle);

    public static IPEndPoint? LocalEndPoint(nint handle) =>
        OperatingSystem.IsWindows() ? Ws2_32.LocalEndPoint(handle)
        : Libc.GetSockName((int)handle, out var addr).Value == 0 ? addr.Decode() : null;

    public static IPEndPoint? RemoteEndPoint(nint handle) =>
        OperatingSystem.IsWindows() ? Ws2_32.RemoteEndPoint(handle)
        : Libc.GetPeerName((int)handle, out var addr).Value == 0 ? addr.Decode() : null;

    /// <summary>close(2) or closesocket, never retried.</summary>
    public static Errno Close(nint handle) =>
        OperatingSystem.IsWindows() ? Ws2_32.CloseSocket(handle) : Libc.Close((int)handle);

    /// <summary>Closes the handle held in <paramref name="handle"/> and sets it to -1, once, whichever thread gets there first.</summary>
    public static void CloseOnce(ref nint handle)
    {
        var taken = Interlocked.Exchange(ref handle, -1);
        if (taken >= 0)
        {
            _ = Close(taken);
        }
    }
}
