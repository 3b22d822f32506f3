namespace EchoServer.TestSupport;

/// <summary>Finds programs the tests drive or need (nc, cmake) the way a shell does: on PATH.</summary>
internal static class Executables
{
    /// <summary>The full path of <paramref name="name"/> on PATH (<c>name.exe</c> on Windows), or null where it is not installed.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, OperatingSystem.IsWindows() ? name + ".exe" : name))
            .FirstOrDefault(File.Exists);
}
