namespace EchoServer.TestSupport;

/// <summary>
/// A project published self-contained for win-x64, once per source version, into <c>obj/wine/&lt;name&gt;-&lt;fingerprint&gt;</c>
/// under the repository, for <see cref="WineHost"/> to run. The sources it needs are copied there first, so the publish
/// (its restore and its obj/ folders) never touches the build that runs the tests.
/// </summary>
internal static class WindowsPublish
{
    /// <summary>What every publish needs besides its projects, relative to the repository root.</summary>
    private static readonly string[] BuildFiles = ["Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig"];

    /// <summary>Publishes (or finds the publish of) the current sources of <paramref name="project"/>; returns the path of the .exe.</summary>
    /// <param name="root">The repository root.</param>
    /// <param name="name">The cache's name under obj/wine (one cached version per name).</param>
    /// <param name="project">The project's folder, relative to the root.</param>
    /// <param name="exe">The file name of the published program.</param>
    /// <param name="folders">The project folders it builds from (its own included), relative to the root.</param>
    /// <exception cref="InvalidOperationException">The publish failed (with its output).</exception>
    public static async Task<string> PublishAsync(string root, string name, string project, string exe, IEnumerable<string> folders)
    {
        var files = folders.Concat(BuildFiles).SelectMany(input => Files(root, input)).ToList();
        var wine = Path.Combine(root, "obj", "wine");
        Directory.CreateDirectory(wine);
        var dir = Path.Combine(wine, $"{name}-{BuildCache.Fingerprint(root, files)}");
        var program = Path.Combine(dir, "publish", exe);
        using (BuildCache.AcquireLock(Path.Combine(wine, $"{name}.lock"), $"the win-x64 publish of {project}"))
        {
            if (File.Exists(program))
            {
                return program;
            }

            foreach (var old in Directory.EnumerateDirectories(wine, name + "-*"))
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
                ["publish", Path.Combine(source, project), "-c", "Release", "-r", "win-x64", "--self-contained",
                    "-o", Path.Combine(dir, "publish"), "-nologo"],
                new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1" },
                Patience.Build);
            if (publish.ExitCode != 0 || !File.Exists(program))
            {
                throw new InvalidOperationException($"dotnet publish -r win-x64 of {project} failed (exit {publish.ExitCode}):\n{publish.Output}");
            }
        }

        return program;
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
