namespace EchoServer.Reactor.Pollers;

/// <summary>Creates the <see cref="IPoller"/> for a <see cref="PollerKind"/> on the running OS.</summary>
public static class PollerFactory
{
    /// <summary>Whether <paramref name="kind"/> can be created on this OS.</summary>
    /// <param name="kind">The backend asked for.</param>
    /// <returns>
    /// True for <see cref="PollerKind.Epoll"/> on Linux, <see cref="PollerKind.Kqueue"/> on macOS and FreeBSD
    /// (and on Linux after <see cref="UseLibkqueue"/>), <see cref="PollerKind.Afd"/> on Windows, and
    /// <see cref="PollerKind.Auto"/> wherever one of them exists; false otherwise.
    /// </returns>
    public static bool IsSupported(PollerKind kind) => kind switch
    {
        PollerKind.Auto => HasEpoll || HasKqueue || HasAfd,
        PollerKind.Epoll => HasEpoll,
        PollerKind.Kqueue => HasKqueue,
        PollerKind.Afd => HasAfd,
        _ => false,
    };

    /// <summary>Resolves <see cref="PollerKind.Auto"/> to the running OS's backend; other kinds are returned as given.</summary>
    /// <param name="kind">The backend asked for.</param>
    /// <returns><see cref="PollerKind.Epoll"/>, <see cref="PollerKind.Kqueue"/> or <see cref="PollerKind.Afd"/>.</returns>
    /// <exception cref="PlatformNotSupportedException">Auto on an OS with neither backend.</exception>
    public static PollerKind Resolve(PollerKind kind)
    {
        if (kind != PollerKind.Auto)
        {
            return kind;
        }

        if (HasEpoll)
        {
            return PollerKind.Epoll;
        }

        if (HasKqueue)
        {
            return PollerKind.Kqueue;
        }

        if (HasAfd)
        {
            return PollerKind.Afd;
        }

        throw new PlatformNotSupportedException($"no poller backend is available on {OsName} (epoll needs Linux, kqueue macOS or FreeBSD, afd Windows)");
    }

    /// <summary>Creates the poller for <paramref name="kind"/>.</summary>
    /// <param name="kind">The backend; <see cref="PollerKind.Auto"/> picks epoll on Linux, kqueue on macOS/FreeBSD, afd on Windows.</param>
    /// <returns>A new poller, owned by the caller.</returns>
    /// <exception cref="PlatformNotSupportedException">
    /// The OS lacks that backend, e.g. "kqueue is not available on Linux (available: epoll)".
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="kind"/> is not a defined value.</exception>
    /// <exception cref="SyscallException">The kernel refused to create the queue (EMFILE, ENOMEM).</exception>
    public static IPoller Create(PollerKind kind) => ResolveSupported(kind) switch
    {
        PollerKind.Epoll => new EpollPoller(),
        PollerKind.Afd => new AfdPoller(),
        _ => new KqueuePoller(),
    };

    /// <summary>
    /// Creates the poller for <paramref name="kind"/> and hands it to <paramref name="consumer"/> as a struct type
    /// argument: the one place where the backend is chosen for code compiled per backend (the event loop).
    /// </summary>
    internal static TResult Create<TResult>(PollerKind kind, IBackendConsumer<TResult> consumer) => ResolveSupported(kind) switch
    {
        PollerKind.Epoll => consumer.Use(new EpollBackend(new EpollPoller())),
        PollerKind.Afd => consumer.Use(new AfdBackend(new AfdPoller())),
        _ => consumer.Use(new KqueueBackend(new KqueuePoller())),
    };

    private static PollerKind ResolveSupported(PollerKind kind)
    {
        if (!Enum.IsDefined(kind))
        {
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown poller kind.");
        }

        var resolved = Resolve(kind);
        if (!IsSupported(resolved))
        {
            throw new PlatformNotSupportedException(
                $"{NameOf(resolved)} is not available on {OsName} (available: {Available})");
        }

        return resolved;
    }

    /// <summary>
    /// Linux only: makes <see cref="PollerKind.Kqueue"/> available in this process, from now on, by running the
    /// kqueue backend over libkqueue (the kqueue API in user space, github.com/mheily/libkqueue), so that code
    /// written for macOS and FreeBSD can be tested on Linux. <see cref="PollerKind.Auto"/> stays epoll.
    /// libkqueue and a kernel kqueue differ in places (docs/design.md, "kqueue over libkqueue").
    /// </summary>
    /// <param name="libraryPath">The shared library, e.g. <c>build/libkqueue.so.0</c>.</param>
    /// <exception cref="PlatformNotSupportedException">Not Linux (macOS and FreeBSD use the kernel's kqueue).</exception>
    /// <exception cref="InvalidOperationException">A different path was loaded before (bindings are process-wide).</exception>
    /// <exception cref="DllNotFoundException">The file cannot be loaded or does not export kqueue() and kevent().</exception>
    public static void UseLibkqueue(string libraryPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(libraryPath);
        Interop.Libkqueue.Load(libraryPath);
    }

    /// <summary>The full path of the libkqueue build this process runs kqueue over (Linux), or null before <see cref="UseLibkqueue"/>.</summary>
    public static string? LibkqueuePath => Interop.Libkqueue.LoadedPath;

    private static bool HasEpoll => OperatingSystem.IsLinux();

    private static bool HasKqueue => KqueuePoller.CurrentAbi is not null;

    private static bool HasAfd => OperatingSystem.IsWindows();

    private static string Available
    {
        get
        {
            var names = new[] { (HasEpoll, "epoll"), (HasKqueue, "kqueue"), (HasAfd, "afd") }.Where(b => b.Item1).Select(b => b.Item2).ToList();
            return names.Count == 0 ? "none" : string.Join(", ", names);
        }
    }

    private static string OsName =>
        OperatingSystem.IsLinux() ? "Linux"
        : OperatingSystem.IsMacOS() ? "macOS"
        : OperatingSystem.IsFreeBSD() ? "FreeBSD"
        : OperatingSystem.IsWindows() ? "Windows"
        : System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    private static string NameOf(PollerKind kind) => kind switch
    {
        PollerKind.Epoll => "epoll",
        PollerKind.Afd => "afd",
        _ => "kqueue",
    };
}
