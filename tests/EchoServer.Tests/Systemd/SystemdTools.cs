using System.Net;
using System.Net.Sockets;

namespace EchoServer.Tests.Systemd;

/// <summary>
/// Finds systemd's own tools (<c>systemd-socket-activate</c>, <c>systemd-analyze</c>, from Debian's systemd
/// package, which .ci/run installs) and builds the command lines that put the real server under them.
/// A test that needs a missing tool is skipped and says which and how to get it.
/// </summary>
internal static class SystemdTools
{
    /// <summary>The path of <paramref name="tool"/>, or a skip saying it is missing.</summary>
    public static string Require(string tool)
    {
        var found = Find(tool);
        Assert.SkipWhen(found is null, $"{tool} is not installed (Debian: apt-get install systemd; .ci/run installs it)");
        return found!;
    }

    public static string? Find(string tool)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin").Append("/bin")
            .Select(dir => Path.Combine(dir, tool))
            .FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// <c>systemd-socket-activate</c> arguments: one <c>-l</c> per address (it binds them, then on the first
    /// connection execs the command with them as fds 3, 4, …), the names, and the environment the server needs.
    /// The tool passes on only what -E names, so PATH, HOME and DOTNET_* (for the apphost) are named here.
    /// </summary>
    public static List<string> ActivateArgs(IEnumerable<string> listen, string? names, bool datagram, IReadOnlyDictionary<string, string>? environment,
        params string[] command)
    {
        var args = new List<string>();
        foreach (var address in listen)
        {
            args.Add("-l");
            args.Add(address);
        }

        if (datagram)
        {
            args.Add("--datagram");
        }

        if (names is not null)
        {
            args.Add($"--fdname={names}");
        }

        var passed = new Dictionary<string, string>();
        foreach (var name in new[] { "PATH", "HOME", "DOTNET_ROOT", "DOTNET_CLI_HOME" })
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                passed[name] = value;
            }
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            passed[name] = value;
        }

        foreach (var (name, value) in passed)
        {
            args.Add("-E");
            args.Add($"{name}={value}");
        }

        args.AddRange(command);
        return args;
    }

    /// <summary>
    /// A TCP port free right now (systemd-socket-activate does not take port 0). Another process may take it
    /// before the tool binds it; callers retry when the tool reports the address in use.
    /// </summary>
    public static int FreeTcpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    public static string NewSocketPath(string tag) => Path.Combine("/tmp", $"echoserver-{tag}-{Guid.NewGuid():N}.sock");

    /// <summary>
    /// Starts <c>systemd-socket-activate</c> on a fresh loopback port (retrying if another process takes the
    /// port first) and waits until it reports listening.
    /// </summary>
    /// <param name="buildArgs">The tool's arguments for a given port.</param>
    public static async Task<(ServerProcess Activator, int Port)> StartActivatorAsync(Func<int, List<string>> buildArgs)
    {
        var tool = Require("systemd-socket-activate");
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeTcpPort();
            var activator = ServerProcess.Start(tool, buildArgs(port));
            try
            {
                await Wait.UntilAsync(
                    () => activator.HasExited || activator.StderrLines.Any(l => l.Contains($":{port} as 3", StringComparison.Ordinal)),
                    Patience.ProcessStart, "systemd-socket-activate listens", () => activator.Output);
                if (!activator.HasExited)
                {
                    return (activator, port);
                }

                if (attempt >= 5 || !activator.Output.Contains("in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidOperationException($"systemd-socket-activate exited with {activator.ExitCode}.\n{activator.Output}");
                }
            }
            catch
            {
                await activator.DisposeAsync();
                throw;
            }

            await activator.DisposeAsync();
        }
    }
}
