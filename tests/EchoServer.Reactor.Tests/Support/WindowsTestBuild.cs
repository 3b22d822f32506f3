using EchoServer.TestSupport;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>
/// This test project published self-contained for win-x64 (<c>EchoServer.Reactor.Tests.exe</c>, an xunit v3 in-process
/// runner), once per source version, into <c>obj/wine/&lt;fingerprint&gt;</c> under the repository. The sources it needs are
/// copied there first, so the publish (its restore and its obj/ folders) never touches the build that runs these tests.
/// </summary>
internal static class WindowsTestBuild
{
    /// <summary>What the publish needs, relative to the repository root.</summary>
    private static readonly string[] Inputs =
    [
        "src/EchoServer.Reactor", "tests/EchoServer.Reactor.Tests", "tests/Shared",
        "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig",
    ];

    /// <summary>Publishes (or finds the publish of) the current sources; returns the path of the .exe.</summary>
    /// <exception cref="InvalidOperationException">The publish failed (with its output).</exception>
    public static async Task<string> PublishAsync(string root)
    {
        var files = Inputs.SelectMany(input => Files(root, input)).ToList();
        var wine = Path.Combine(root, "obj", "wine");
        Directory.CreateDirectory(wine);
        var dir = Path.Combine(wine, "tests-" + BuildCache.Fingerprint(root, files));
        var exe = Path.Combine(dir, "publish", "EchoServer.Reactor.Tests.exe");
        using (BuildCache.AcquireLock(Path.Combine(wine, "publish.lock"), "the win-x64 test publish"))
        {
            if (File.Exists(exe))
            {
                return exe;
            }

            foreach (var old in Directory.EnumerateDirectories(wine, "tests-*"))
            {
                Directory.Delete(old, recursive: true);
            }

            var source = Path.Combine(dir, "src");
            foreach (var file in files)
            {
                var copy = Path.Combine(source, Path.GetRelativePath(root, file));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }

            var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? Executables.Find("dotnet") ?? "dotnet";
            await using var publish = await ServerProcess.RunToExitAsync(
                dotnet,
                ["publish", Path.Combine(source, "tests", "EchoServer.Reactor.Tests"), "-c", "Release", "-r", "win-x64", "--self-contained",
                    "-o", Path.Combine(dir, "publish"), "-nologo"],
                new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
                Patience.Build);
            if (publish.ExitCode != 0 || !File.Exists(exe))
            {
                throw new InvalidOperationException($"dotnet publish -r win-x64 of the reactor tests failed (exit {publish.ExitCode}):\n{publish.Output}");
            }
        }

        return exe;
    }

    private static IEnumerable<string> Files(string root, string input)
    {
        var path = Path.Combine(root, input);
        if (File.Exists(path))
        {
            return [path];
        }

        return Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(path, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));
    }
}
