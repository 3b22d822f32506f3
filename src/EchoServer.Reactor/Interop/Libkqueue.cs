using System.Reflection;
using System.Runtime.InteropServices;

namespace EchoServer.Reactor.Interop;

/// <summary>
/// libkqueue (the kqueue API in user space over epoll) as the provider of kqueue()/kevent() on Linux,
/// loaded from a path chosen at run time. The <c>LibraryImport</c>s naming <see cref="Name"/> are bound
/// through this assembly's import resolver to the handle loaded here, which works under native AOT as well.
/// </summary>
internal static class Libkqueue
{
    /// <summary>The library name the imports use; only the resolver knows what it stands for.</summary>
    internal const string Name = "libkqueue";

    private static readonly Lock Gate = new();
    private static IntPtr _handle;
    private static string? _path;

    /// <summary>The loaded library's full path, or null before <see cref="Load"/>.</summary>
    internal static string? LoadedPath => Volatile.Read(ref _path);

    /// <summary>
    /// Loads libkqueue from <paramref name="path"/> once per process (P/Invoke bindings are never
    /// undone, so a second, different path is refused).
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="InvalidOperationException">Another path was loaded before.</exception>
    /// <exception cref="DllNotFoundException">The file cannot be loaded or lacks kqueue()/kevent().</exception>
    internal static void Load(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("libkqueue is used on Linux only; macOS and FreeBSD have kqueue in the kernel.");
        }

        var fullPath = Path.GetFullPath(path);
        lock (Gate)
        {
            if (_path is not null)
            {
                if (_path != fullPath)
                {
                    throw new InvalidOperationException($"libkqueue is already loaded from {_path}; cannot switch to {fullPath}.");
                }

                return;
            }

            if (!NativeLibrary.TryLoad(fullPath, out var handle))
            {
                throw new DllNotFoundException($"cannot load libkqueue from {fullPath}");
            }

            if (!NativeLibrary.TryGetExport(handle, "kqueue", out _) || !NativeLibrary.TryGetExport(handle, "kevent", out _))
            {
                NativeLibrary.Free(handle);
                throw new DllNotFoundException($"{fullPath} does not export kqueue() and kevent()");
            }

            _handle = handle;
            NativeLibrary.SetDllImportResolver(typeof(Libkqueue).Assembly, Resolve);
            Volatile.Write(ref _path, fullPath);
        }
    }

    // Every other library name falls through (IntPtr.Zero) to the runtime's own probing.
    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == Name ? _handle : IntPtr.Zero;
}
