using System.Runtime.InteropServices;

namespace EchoServer.TestSupport;

/// <summary>The bytes the server under test holds in its pipes (splice), which its RSS does not show.</summary>
internal sealed partial class ServerProcess
{
    /// <summary>
    /// The bytes waiting in every pipe the server has open (Linux): each pipe is opened again through
    /// /proc/PID/fd (a pipe opens there as a FIFO) and asked with FIONREAD; both ends of a pipe count once.
    /// </summary>
    public long ReadPipeBytes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "pipe contents are read through /proc (Linux)");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long total = 0;
        foreach (var entry in Directory.GetFileSystemEntries($"/proc/{Pid}/fd"))
        {
            var target = new FileInfo(entry).LinkTarget;
            if (target is null || !target.StartsWith("pipe:", StringComparison.Ordinal) || !seen.Add(target))
            {
                continue;
            }

            var fd = PipeProbe.Open(entry, PipeProbe.ReadOnlyNonBlocking);
            if (fd < 0)
            {
                continue; // closed since the listing
            }

            try
            {
                if (PipeProbe.Ioctl(fd, PipeProbe.FionRead, out var queued) == 0)
                {
                    total += queued;
                }
            }
            finally
            {
                _ = PipeProbe.Close(fd);
            }
        }

        return total;
    }
}

/// <summary>open(2), ioctl(FIONREAD) and close(2), for <see cref="ServerProcess.ReadPipeBytes"/> (Linux values).</summary>
internal static partial class PipeProbe
{
    /// <summary>O_RDONLY | O_NONBLOCK (asm-generic fcntl.h): a FIFO opened so never waits for a writer.</summary>
    public const int ReadOnlyNonBlocking = 0x800;

    /// <summary>FIONREAD (asm-generic ioctls.h): bytes readable now.</summary>
    public const nuint FionRead = 0x541B;

    // int open(const char *pathname, int flags);
    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags);

    // int ioctl(int fd, unsigned long request, int *argp);
    [LibraryImport("libc", EntryPoint = "ioctl")]
    internal static partial int Ioctl(int fd, nuint request, out int value);

    // int close(int fd);
    [LibraryImport("libc", EntryPoint = "close")]
    internal static partial int Close(int fd);
}
