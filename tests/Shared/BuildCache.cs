using System.Security.Cryptography;
using System.Text;

namespace EchoServer.TestSupport;

/// <summary>
/// What the tests that build something once per source version share (libkqueue, the win-x64 test publish): a name for
/// the sources' version, and a cross-process lock so that parallel test processes build once and the others wait.
/// </summary>
internal static class BuildCache
{
    /// <summary>
    /// Names a version of <paramref name="files"/> (under <paramref name="root"/>) by their relative paths, sizes and
    /// modification times: 16 hex digits that change when any of them does.
    /// </summary>
    public static string Fingerprint(string root, IEnumerable<string> files)
    {
        var text = new StringBuilder();
        foreach (var file in files.Order(StringComparer.Ordinal))
        {
            var info = new FileInfo(file);
            text.Append(Path.GetRelativePath(root, file)).Append(' ').Append(info.Length).Append(' ')
                .Append(info.LastWriteTimeUtc.Ticks).Append('\n');
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16].ToLowerInvariant();
    }

    /// <summary>
    /// Takes an exclusive lock on <paramref name="path"/> (the runtime takes flock(2) for FileShare.None on Unix), waiting,
    /// bounded by <see cref="Patience.Build"/>, for another test process that holds it while it builds <paramref name="what"/>.
    /// </summary>
    public static FileStream AcquireLock(string path, string what)
    {
        FileStream? held = null;
        Wait.Until(() => (held = TryLock(path)) is not null, Patience.Build, $"no other test process holds {path} (it builds {what})");
        return held!;
    }

    private static FileStream? TryLock(string path)
    {
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
