using System.Diagnostics;
using EchoServer.Reactor.Pollers;

namespace EchoServer.TestSupport;

/// <summary>
/// libkqueue built from <c>../shared/vendor/libkqueue</c> (beside the repository) once per source version,
/// out of tree into <c>obj/libkqueue/&lt;fingerprint&gt;</c> under the repository, so the kqueue backend
/// runs on Linux. Test projects run in parallel, so the build happens under an exclusive file lock and the
/// others wait for it. Where it cannot be built (no sources, no cmake, no C compiler) the tests that need it
/// skip with that reason; a build that starts and fails is a test failure.
/// Shared by both test projects (linked into each, with <see cref="Executables"/>).
/// </summary>
internal static class LibkqueueBuild
{
    /// <summary>The environment variable echoserver reads for --poller kqueue on Linux (docs/operations.md, docs/design.md).</summary>
    public const string EnvironmentVariable = "ECHOSERVER_LIBKQUEUE";

    private static readonly string[] BuildTools = ["cmake", "make"];
    private static readonly Lazy<(string? Path, string? SkipReason)> Built = new(BuildOnce);

    /// <summary>Whether this process runs kqueue over libkqueue (Linux) rather than the kernel's.</summary>
    public static bool IsNeeded => OperatingSystem.IsLinux();

    /// <summary>
    /// The built library (building it first if needed), or a skip of the calling test saying why it cannot be
    /// built here. Only for Linux (<see cref="IsNeeded"/>).
    /// </summary>
    public static string RequirePath()
    {
        var (path, skipReason) = Built.Value;
        if (path is null)
        {
            Assert.Skip(skipReason!);
        }

        return path;
    }

    /// <summary>
    /// Makes <see cref="PollerKind.Kqueue"/> usable in this process: on Linux loads the libkqueue build (or skips
    /// the calling test with the reason); on macOS and FreeBSD the kernel has kqueue and nothing is needed.
    /// </summary>
    public static void RequireKqueue()
    {
        if (IsNeeded)
        {
            PollerFactory.UseLibkqueue(RequirePath());
        }
    }

    /// <summary>The repository root: the directory above the test binaries that holds EchoServer.sln.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EchoServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No EchoServer.sln above {AppContext.BaseDirectory}.");
    }

    private static (string? Path, string? SkipReason) BuildOnce()
    {
        var root = RepoRoot();
        var source = Path.GetFullPath(Path.Combine(root, "..", "shared", "vendor", "libkqueue"));
        if (!File.Exists(Path.Combine(source, "CMakeLists.txt")))
        {
            return (null, $"libkqueue sources not found at {source} (../shared/vendor/libkqueue beside the repository), so the kqueue backend cannot run on Linux here");
        }

        var missing = BuildTools.Where(tool => Executables.Find(tool) is null).ToList();
        if (Executables.Find("cc") is null && Executables.Find("gcc") is null)
        {
            missing.Add("a C compiler (cc/gcc)");
        }

        if (missing.Count > 0)
        {
            return (null, $"cannot build libkqueue for the kqueue backend on Linux: {string.Join(", ", missing)} not installed "
                + "(sudo apt-get install cmake gcc make; .ci/run installs them)");
        }

        var obj = Path.Combine(root, "obj");
        Directory.CreateDirectory(obj);
        var dir = Path.Combine(obj, "libkqueue", BuildCache.Fingerprint(source, Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)));
        var library = Path.Combine(dir, "libkqueue.so.0");
        var stamp = Path.Combine(dir, "built.stamp");
        using (BuildCache.AcquireLock(Path.Combine(obj, "libkqueue.lock"), "libkqueue"))
        {
            if (!File.Exists(stamp) || !File.Exists(library))
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }

                Run("cmake", "-S", source, "-B", dir, "-DCMAKE_BUILD_TYPE=Release", "-DENABLE_TESTING=OFF", "-DENABLE_STATIC=OFF");
                Run("make", "-C", dir, "-j2");
                if (!File.Exists(library))
                {
                    throw new InvalidOperationException($"libkqueue built, but {library} is missing");
                }

                File.WriteAllText(stamp, source);
            }
        }

        return (library, null);
    }

    private static void Run(string tool, params string[] args)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Patience.Build))
        {
            process.Kill();
            throw new TimeoutException($"{tool} did not finish within {Patience.Build}");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"building libkqueue failed: {tool} {string.Join(' ', args)} exited {process.ExitCode}\n{stdout.Result}\n{stderr.Result}");
        }
    }
}
