using System.Runtime.InteropServices;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace EchoServer.TestSupport;

/// <summary>
/// The one process launcher of the process-level tests (linked into each test project): the real <c>echoserver</c>,
/// started from the test output directory, or any other command the tests run to exit (<c>echobench</c>, an
/// installed tool). Captures stdout and stderr line by line, learns the port from the <c>listening on …</c> log line
/// (so port 0 can be used and there are no port races), and kills the process by PID on dispose if it is still
/// running. Every wait is bounded.
/// </summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly List<string> _stdout = [];
    private readonly List<string> _stderr = [];
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _listeningUnix = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The apphost built next to the tests by the ProjectReference.</summary>
    public static string ServerPath => AppHost("echoserver");

    /// <summary>As a value in an environment passed to a start method: remove this variable from the child's environment.</summary>
    public const string Unset = "\0unset";

    /// <summary>echobench's apphost, next to the tests that reference it.</summary>
    public static string BenchPath => AppHost("echobench");

    /// <summary>The apphost of <paramref name="name"/> next to the tests: <c>name.exe</c> on Windows.</summary>
    private static string AppHost(string name) => Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? name + ".exe" : name);

    public int Pid { get; private set; }

    /// <summary>The program's file name, for messages.</summary>
    public string Name { get; private init; } = "echoserver";

    /// <summary>Everything the process wrote to stdout, one line each (after it exited, all of it).</summary>
    public string Stdout => string.Join('\n', StdoutLines);

    /// <summary>Everything the process wrote to stderr.</summary>
    public string Stderr => string.Join('\n', StderrLines);

    /// <summary>The endpoint from the server's <c>listening on …</c> line (only after <see cref="StartAsync(string[])"/>).</summary>
    public IPEndPoint EndPoint { get; private set; } = new(IPAddress.Loopback, 0);

    public int Port => EndPoint.Port;

    /// <summary>The socket path from a <c>listening on unix:…</c> line (only after <see cref="StartUnixAsync"/>).</summary>
    public string? UnixPath { get; private set; }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public IReadOnlyList<string> StdoutLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stdout];
            }
        }
    }

    public IReadOnlyList<string> StderrLines
    {
        get
        {
            lock (_gate)
            {
                return [.. _stderr];
            }
        }
    }

    /// <summary>Stdout and stderr, for failure messages.</summary>
    public string Output => $"stdout:\n{string.Join('\n', StdoutLines)}\nstderr:\n{string.Join('\n', StderrLines)}";

    /// <summary>Starts <c>echoserver --bind 127.0.0.1:0</c> (unless <paramref name="args"/> has its own --bind) and waits until it listens.</summary>
    public static Task<ServerProcess> StartAsync(params string[] args) => StartAsync(args, environment: null);

    internal static Task<ServerProcess> StartAsync(string[] args, IReadOnlyDictionary<string, string>? environment)
    {
        var hasBind = args.Any(a => a is "--bind" or "-b");
        return StartAsync(ServerPath, hasBind ? args : ["--bind", "127.0.0.1:0", .. args], environment);
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> (the server, or a shell that execs it) with <paramref name="environment"/>
    /// added to the test's own, and waits until it listens.
    /// </summary>
    public static async Task<ServerProcess> StartAsync(
        string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        if (fileName == ServerPath)
        {
            SkipWhatWindowsRefuses([.. args]);
        }

        var server = Launch(fileName, args, environment);
        await server.WaitUntilListeningAsync();
        return server;
    }

    /// <summary>
    /// Starts <paramref name="fileName"/> (the server, or a launcher such as <c>systemd-socket-activate</c> that
    /// execs it later) without waiting; <see cref="WaitUntilListeningAsync()"/> waits for the first <c>listening on</c>.
    /// </summary>
    public static ServerProcess Start(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Launch(fileName, args, environment);

    /// <summary>
    /// On Windows, skips a test that starts the server with what it refuses there (exit 2: unix sockets, more than
    /// one reactor, epoll or kqueue; docs/design.md, "The echo server on Windows"): WineEchoTests checks the refusals.
    /// </summary>
    private static void SkipWhatWindowsRefuses(IReadOnlyList<string> args)
    {
        if (!OperatingSystem.IsWindows())
        {
            return;
        }

        for (var i = 0; i < args.Count; i++)
        {
            var next = i + 1 < args.Count ? args[i + 1] : string.Empty;
            var refused = args[i].StartsWith("unix:", StringComparison.Ordinal)
                || (args[i] == "--reactors" && next != "1") || (args[i] == "--poller" && next is "epoll" or "kqueue");
            Assert.SkipWhen(refused, $"the server refuses '{args[i]}' on Windows (it serves TCP and UDP on one AFD reactor there)");
        }
    }

    /// <summary>Waits (bounded) for the first TCP <c>listening on …</c> line and sets <see cref="EndPoint"/> from it.</summary>
    public async Task WaitUntilListeningAsync() => EndPoint = await WaitUntilListeningAsync(_listening.Task);

    /// <summary>The address of every <c>listening on …</c> line so far (<c>127.0.0.1:9000</c>, <c>unix:/path</c>).</summary>
    public IReadOnlyList<string> ListeningAddresses =>
        [.. StdoutLines.Select(line => ListeningLine().Match(line)).Where(m => m.Success).Select(m => m.Groups["ep"].Value)];

    /// <summary>The process's standard input (a launcher under test may read commands from it).</summary>
    public StreamWriter Input => _process.StandardInput;

    /// <summary>
    /// Starts <c>echoserver --bind unix:<paramref name="path"/></c> plus <paramref name="args"/> and waits until it
    /// logs <c>listening on unix:…</c>.
    /// </summary>
    public static async Task<ServerProcess> StartUnixAsync(string path, params string[] args)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "unix sockets are not served on Windows");
        var server = Launch(ServerPath, ["--bind", $"unix:{path}", .. args]);
        server.UnixPath = await server.WaitUntilListeningAsync(server._listeningUnix.Task);
        return server;
    }

    private async Task<T> WaitUntilListeningAsync<T>(Task<T> listeningLine)
    {
        try
        {
            using var timeout = new CancellationTokenSource(Patience.ProcessStart);
            var exited = _process.WaitForExitAsync(timeout.Token);
            var listening = listeningLine.WaitAsync(timeout.Token);
            var first = await Task.WhenAny(listening, exited);
            if (first == listening && listening.IsCompletedSuccessfully)
            {
                return listening.Result;
            }

            if (exited.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException(
                    $"{Name} exited with code {_process.ExitCode} before listening.\n{Output}");
            }

            throw new TimeoutException($"{Name} did not log 'listening on' within {Patience.ProcessStart}.\n{Output}");
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>echoserver</c> with exactly <paramref name="args"/> and waits (bounded) for it to exit.</summary>
    public static Task<ServerProcess> RunToExitAsync(params string[] args) => RunToExitAsync(new Dictionary<string, string>(), args);

    /// <summary>Runs <c>echoserver</c> with <paramref name="environment"/> added and waits (bounded) for it to exit.</summary>
    public static Task<ServerProcess> RunToExitAsync(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        RunToExitAsync(ServerPath, args, environment, Patience.ProcessExit);

    /// <summary>Runs <paramref name="fileName"/> (echobench, an installed tool) and waits up to <paramref name="timeout"/> for it to exit.</summary>
    public static async Task<ServerProcess> RunToExitAsync(
        string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var server = Launch(fileName, args, environment);
        try
        {
            await server.WaitForExitAsync(timeout);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static ServerProcess Launch(string fileName, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var serverName = Path.GetFileName(fileName);

        // A test run started in the background (`cmd &`, nohup) ignores SIGINT, and an ignored signal stays ignored
        // across exec, so the server would ignore Ctrl+C as shells intend for background jobs. Tests send SIGINT to
        // a server as a terminal would: start it with SIGINT's default disposition (env(1) then execs, same PID).
        if (SigIntIgnored.Value)
        {
            args = ["--default-signal=INT", fileName, .. args];
            fileName = "env";
        }

        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Only a test that asks for kqueue over libkqueue gets it, whatever the developer's shell exports.
        info.Environment.Remove(LibkqueueBuild.EnvironmentVariable);

        // Nor does a server under test talk to (or take sockets from) a service manager the test runner may run under.
        foreach (var name in (string[])["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"])
        {
            info.Environment.Remove(name);
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            if (value == Unset)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }

        var process = new Process { StartInfo = info };
        var server = new ServerProcess(process) { Name = serverName };
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => server.OnLine(e.Data, isError: true);
        process.Start();
        server.Pid = process.Id;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            (isError ? _stderr : _stdout).Add(line);
        }

        if (!isError && ListeningLine().Match(line) is { Success: true } match)
        {
            var address = match.Groups["ep"].Value;
            if (address.StartsWith("unix:", StringComparison.Ordinal))
            {
                _listeningUnix.TrySetResult(address["unix:".Length..]);
            }
            else if (IPEndPoint.TryParse(address, out var endPoint))
            {
                _listening.TrySetResult(endPoint);
            }
        }
    }

    /// <summary>Waits until the process has exited and its output is read; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} (pid {Pid}) did not exit within {timeout}.\n{Output}");
        }
    }

    /// <summary>Waits (bounded) until a stdout line satisfies <paramref name="match"/>, and returns it.</summary>
    public async Task<string> WaitForStdoutLineAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        string? found = null;
        await Wait.UntilAsync(() => (found = StdoutLines.FirstOrDefault(match)) is not null, timeout, what, () => Output);
        return found!;
    }

    /// <summary>
    /// Sends a signal by PID with kill(2) (no dependency on a <c>kill</c> binary, which minimal images lack). On Windows,
    /// which has no signals to send, the calling test skips (the console events are tested under Wine: WineEchoTests).
    /// </summary>
    /// <param name="signal">TERM, INT or KILL (the same numbers on Linux and macOS).</param>
    public Task SendSignalAsync(string signal)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), $"SIG{signal} is Unix's: Windows has no signals to send a process");
        var number = signal switch
        {
            "TERM" => 15,
            "INT" => 2,
            "KILL" => 9,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, "TERM, INT or KILL"),
        };
        if (NativeSignals.Kill(Pid, number) != 0)
        {
            throw new InvalidOperationException($"kill({Pid}, SIG{signal}) failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return Task.CompletedTask;
    }

    private static bool HasProcFs => File.Exists("/proc/self/stat");

    /// <summary>Resident set size from /proc/PID/status (VmRSS); where there is no /proc (macOS), from the OS via Process.</summary>
    public long ReadRssBytes()
    {
        if (!HasProcFs)
        {
            using var process = Process.GetProcessById(Pid);
            return process.WorkingSet64;
        }

        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no VmRSS in /proc/{Pid}/status");
    }

    /// <summary>User plus system CPU time from /proc/PID/stat (fields 14 and 15, in clock ticks).</summary>
    public TimeSpan ReadCpuTime()
    {
        if (!HasProcFs)
        {
            using var process = Process.GetProcessById(Pid);
            return process.TotalProcessorTime;
        }

        var stat = File.ReadAllText($"/proc/{Pid}/stat");

        // Field 2 (comm) is in parentheses and may contain spaces; fields from 3 on follow the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[14 - 3], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[15 - 3], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((utime + stime) / (double)ClockTicksPerSecond.Value);
    }

    /// <summary>
    /// The process's CPU time over a measurement window of <paramref name="window"/> (a window, not a wait for a
    /// condition), as a fraction of that window's wall time: 1.0 is one core busy throughout, as a spinning loop is.
    /// </summary>
    public async Task<double> MeasureCpuShareAsync(TimeSpan window)
    {
        var before = ReadCpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(window);
        return (ReadCpuTime() - before) / clock.Elapsed;
    }

    /// <summary>True if this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status; Linux only).</summary>
    private static readonly Lazy<bool> SigIntIgnored = new(() =>
    {
        const string prefix = "SigIgn:";
        var line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) : null;
        return line is not null && (Convert.ToUInt64(line[prefix.Length..].Trim(), 16) & (1UL << (2 - 1))) != 0;
    });

    private static readonly Lazy<long> ClockTicksPerSecond = new(() =>
    {
        try
        {
            var info = new ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true, UseShellExecute = false };
            using var getconf = Process.Start(info)!;
            var text = getconf.StandardOutput.ReadToEnd();
            getconf.WaitForExit(Patience.ProcessExit);
            return long.TryParse(text.Trim(), CultureInfo.InvariantCulture, out var ticks) && ticks > 0 ? ticks : 100;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return 100;
        }
    });

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: false);
                using var cts = new CancellationTokenSource(Patience.ProcessExit);
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (OperationCanceledException)
        {
            // SIGKILL was sent; nothing more we can do without hanging.
        }
        finally
        {
            _process.Dispose();
        }
    }

    [GeneratedRegex(@"listening on (?<ep>\S+) \(")]
    private static partial Regex ListeningLine();
}

/// <summary>kill(2), for sending signals to the server under test.</summary>
internal static partial class NativeSignals
{
    // int kill(pid_t pid, int sig);
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    internal static partial int Kill(int pid, int signal);
}
