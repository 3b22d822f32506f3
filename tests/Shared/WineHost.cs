using System.Runtime.InteropServices;

namespace EchoServer.TestSupport;

/// <summary>
/// Runs Windows programs (win-x64 self-contained publishes) on Linux under Wine, as Debian's <c>wine64</c> package
/// installs it, in a Wine prefix of the repository's own (<c>obj/wine/prefix</c>, made on first use). Where Wine
/// cannot run, <see cref="SkipReason"/> says why. Inside such a program, <see cref="IsRunningUnderWine"/> tells Wine from Windows.
/// </summary>
internal static class WineHost
{
    /// <summary>Whether this Windows process runs under Wine (its ntdll exports <c>wine_get_version</c>; Windows' does not).</summary>
    public static readonly bool IsRunningUnderWine =
        OperatingSystem.IsWindows()
        && NativeLibrary.TryLoad("ntdll.dll", out var ntdll)
        && NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _);

    /// <summary>Debian's 64-bit Wine loader (the package puts no <c>wine64</c> on PATH).</summary>
    public const string Binary = "/usr/lib/wine/wine64";

    /// <summary>Why Windows programs cannot run here, or null when they can.</summary>
    public static string? SkipReason =>
        !OperatingSystem.IsLinux() ? "Wine is how Windows programs run on Linux; this is not Linux"
        : RuntimeInformation.OSArchitecture != Architecture.X64 ? $"the win-x64 build needs an x86-64 machine, not {RuntimeInformation.OSArchitecture}"
        : !File.Exists(Binary) ? $"Wine is not installed ({Binary} is missing: sudo apt-get install wine64; .ci/run installs it)"
        : null;

    /// <summary>A Linux path as a Windows program under Wine names it (Wine maps drive Z: to /).</summary>
    public static string WindowsPath(string path) => "Z:" + Path.GetFullPath(path).Replace('/', '\\');

    /// <summary>
    /// Runs <paramref name="program"/> under Wine with <paramref name="args"/> and waits up to <paramref name="timeout"/>
    /// for it to exit (Wine's own diagnostics off). Wine's server process ends by itself once its last program has.
    /// </summary>
    public static Task<ServerProcess> RunToExitAsync(string repoRoot, string program, IEnumerable<string> args, TimeSpan timeout) =>
        ServerProcess.RunToExitAsync(Binary, [program, .. args], Environment(repoRoot), timeout);

    /// <summary>
    /// Starts the server <paramref name="program"/> under Wine and waits until it logs that it listens. Its PID is the
    /// Wine process's (the loader runs the program in the process it started in), so signals sent to it reach the program.
    /// </summary>
    public static Task<ServerProcess> StartServerAsync(string repoRoot, string program, IEnumerable<string> args) =>
        ServerProcess.StartAsync(Binary, [program, .. args], Environment(repoRoot));

    private static Dictionary<string, string> Environment(string repoRoot)
    {
        var prefix = Path.Combine(repoRoot, "obj", "wine", "prefix");
        Directory.CreateDirectory(prefix);
        return new Dictionary<string, string> { ["WINEPREFIX"] = prefix, ["WINEDEBUG"] = "-all" };
    }
}
