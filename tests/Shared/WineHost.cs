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
    public static async Task<ServerProcess> RunToExitAsync(string repoRoot, string program, IEnumerable<string> args, TimeSpan timeout) =>
        await ServerProcess.RunToExitAsync(Binary, [program, .. args], await PreparedEnvironmentAsync(repoRoot), timeout);

    /// <summary>
    /// Starts the server <paramref name="program"/> under Wine and waits until it logs that it listens. Its PID is the
    /// Wine process's (the loader runs the program in the process it started in), so signals sent to it reach the program.
    /// </summary>
    public static async Task<ServerProcess> StartServerAsync(string repoRoot, string program, IEnumerable<string> args) =>
        await ServerProcess.StartAsync(Binary, [program, .. args], await PreparedEnvironmentAsync(repoRoot));

    /// <summary>
    /// The environment for the repository's prefix, made once before any program runs in it: Wine programs started
    /// together (the two test projects run at once) while the prefix is still being made can exit at once with code 1.
    /// </summary>
    private static async Task<Dictionary<string, string>> PreparedEnvironmentAsync(string repoRoot)
    {
        var wine = Path.Combine(repoRoot, "obj", "wine");
        var prefix = Path.Combine(wine, "prefix");
        var environment = new Dictionary<string, string> { ["WINEPREFIX"] = prefix, ["WINEDEBUG"] = "-all" };
        if (File.Exists(Path.Combine(prefix, "system.reg")))
        {
            return environment;
        }

        Directory.CreateDirectory(wine);
        using var held = BuildCache.AcquireLock(Path.Combine(wine, "prefix.lock"), "the Wine prefix");
        if (!File.Exists(Path.Combine(prefix, "system.reg")))
        {
            Directory.CreateDirectory(prefix);
            await using var boot = await ServerProcess.RunToExitAsync(Binary, ["wineboot", "--init"], environment, Patience.WineRun);
            if (boot.ExitCode != 0 || !File.Exists(Path.Combine(prefix, "system.reg")))
            {
                throw new InvalidOperationException($"wineboot --init could not make the Wine prefix {prefix} (exit {boot.ExitCode}):\n{boot.Output}");
            }
        }

        return environment;
    }
}
