using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>Whether this Windows process runs under Wine (its ntdll exports <c>wine_get_version</c>; Windows' does not).</summary>
internal static class Wine
{
    public static readonly bool IsHost =
        OperatingSystem.IsWindows()
        && NativeLibrary.TryLoad("ntdll.dll", out var ntdll)
        && NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _);
}
