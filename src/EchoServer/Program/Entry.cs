using System.CommandLine;
using System.CommandLine.Parsing;
using EchoServer.Cli;
using EchoServer.Echo;
using EchoServer.Systemd;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>The <c>echoserver</c> command: parses the command line and runs the server.</summary>
internal static partial class Entry
{
    private const string Name = "echoserver";

    private static readonly Option<string[]> BindOption = new("--bind", "-b")
    {
        Description = "Address and port to listen on: 127.0.0.1:9000, [::1]:9000, 0.0.0.0:9000 (port 0 picks a free port), "
            + "or a unix socket: unix:/path/to.sock (not on Windows). Give it more than once to listen on several addresses. "
            + "[default: 127.0.0.1:9000, unless systemd passes sockets in (LISTEN_FDS; not read on Windows)]",
        HelpName = "host:port|unix:path",
        Arity = ArgumentArity.OneOrMore,
    };

    private static readonly Option<PollerKind> PollerOption = new("--poller")
    {
        Description = "Readiness backend: auto (epoll on Linux, kqueue on macOS/FreeBSD, afd on Windows), epoll, kqueue or afd "
            + "(Windows: afd.sys polls over an I/O completion port)",
        HelpName = "auto|epoll|kqueue|afd",
        DefaultValueFactory = _ => PollerKind.Auto,
        CustomParser = ParsePoller,
    };

    private static readonly Option<int> ReactorsOption = new("--reactors")
    {
        Description = "Independent single-threaded event loops; each TCP address gets an SO_REUSEPORT listener per loop, while unix and "
            + "inherited sockets (one kernel queue each) are spread over the loops one socket per loop; 'auto' = one per core. "
            + "Windows: 1 only (no SO_REUSEPORT)",
        HelpName = "N|auto",
        DefaultValueFactory = _ => 1,
        CustomParser = ParseReactors,
    };

    private static readonly Option<bool> UdpOption = new("--udp")
    {
        Description = "Also echo UDP datagrams on each TCP address and port. Off by default: UDP echo can be abused for "
            + "reflection, so source ports 0, 7, 13, 17, 19, 37 are never answered and each source IP is rate limited",
    };

    private static readonly Option<long?> MaxPendingOption = new("--max-pending-bytes")
    {
        Description = "Most bytes kept for one client that is not reading (reads are capped at this; reading stops while any are owed); "
            + ByteSize.Forms + " [default: 256KiB]",
        HelpName = "size",
        CustomParser = result => CommandLineRules.ParseSize(result, allowZero: false),
    };

    private static readonly Option<string> ZeroCopyOption = CreateZeroCopyOption();

    private static readonly Option<int> MaxConnectionsOption = new("--max-connections")
    {
        Description = "Connections beyond this many are accepted and reset at once (counted as rejected); 0 = no limit",
        HelpName = "N",
        DefaultValueFactory = _ => 0,
    };

    private static readonly Option<int> BacklogOption = new("--backlog")
    {
        Description = "Length of the kernel's queue of connections not yet accepted (capped by net.core.somaxconn); -1 = SOMAXCONN",
        HelpName = "N",
        DefaultValueFactory = _ => -1,
    };

    private static readonly Option<TimeSpan?> IdleTimeoutOption = new("--idle-timeout")
    {
        Description = "Close connections with no traffic for this long (e.g. 30s, 500ms, 2m); off by default",
        HelpName = "duration",
        CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: false),
    };

    private static readonly Option<TimeSpan?> ShutdownTimeoutOption = new("--shutdown-timeout")
    {
        Description = "On SIGTERM/SIGINT (Ctrl+C; on Windows Ctrl+C, Ctrl+Break or closing the console, which caps it at 3s as "
            + "Windows ends the process 5s after), how long busy connections may finish before they are closed [default: 5s]",
        HelpName = "duration",
        CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: true),
    };

    private static readonly Option<TimeSpan?> StatsIntervalOption = new("--stats-interval")
    {
        Description = "Print a one-line summary of the counters at this interval (e.g. 10s); off by default",
        HelpName = "duration",
        CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: false),
    };

    private static readonly Option<LogLevel> LogLevelOption = new("--log-level")
    {
        Description = "Least severe log level to print (Debug shows each connection)",
        DefaultValueFactory = _ => LogLevel.Information,
        CustomParser = ParseLogLevel,
    };

    public static int Main(string[] args)
    {
        var root = new RootCommand("A TCP echo server (RFC 862) on a hand-rolled, edge-triggered epoll/kqueue/AFD event loop.\n"
            + "Every byte a client sends comes back in order; an urgent byte (MSG_OOB) comes back inline, in its place.\n\n"
            + EnvironmentHelp)
        {
            BindOption,
            PollerOption,
            ReactorsOption,
            UdpOption,
            MaxPendingOption,
            ZeroCopyOption,
            MaxConnectionsOption,
            LimitOptions.MaxConnectionsPerAddress,
            LimitOptions.MaxPendingTotal,
            BacklogOption,
            IdleTimeoutOption,
            KeepAliveOption,
            SocketBuffersOption,
            ShutdownTimeoutOption,
            StatsIntervalOption,
            LogLevelOption,
        };
        CommandLineRules.RequireRange(MaxPendingOption, 1, int.MaxValue);
        CommandLineRules.RequireRange(MaxConnectionsOption, 0);
        CommandLineRules.RequireRange(BacklogOption, -1);
        CommandLineRules.RequireRange(SocketBuffersOption, 4 * 1024, 1L << 30);
        root.SetAction(Run);
        return CommandLineRules.Invoke(root, args, Name);
    }

    private const string EnvironmentHelp = """
        Environment (set by systemd; see docs/operations.md, "Running under systemd"; not read on Windows):
          LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES  sockets passed in (socket activation): listening TCP or unix stream
                                                  sockets are served, UDP sockets echoed as with --udp; --bind is then optional
          NOTIFY_SOCKET                           readiness: READY=1 once listening, STOPPING=1 when the drain starts,
                                                  STATUS= with the connection count (Type=notify)
          WATCHDOG_USEC, WATCHDOG_PID             WATCHDOG=1 every half of WATCHDOG_USEC from the event loop (WatchdogSec=)
        """;

    /// <summary>Checks what the command line names (addresses, backend, inherited sockets), then runs the server; the exit code.</summary>
    private static int Run(ParseResult parse)
    {
        if (!TryReadBinds(parse, out var binds))
        {
            return ExitCodes.Usage;
        }

        var poller = parse.GetValue(PollerOption);
        if (!PollerChoice.TryUse(poller, Name))
        {
            return ExitCodes.Usage;
        }

        if (!TryTakeInheritedSockets(out var inherited))
        {
            return ExitCodes.Failure;
        }

        var reactors = parse.GetValue(ReactorsOption);
        if (reactors > 1 && HostPlatform.SeveralReactorsUnavailable is { } oneReactor)
        {
            Console.Error.WriteLine($"{Name}: --reactors {reactors}: {oneReactor}");
            return ExitCodes.Usage;
        }

        if (binds.Count == 0 && inherited.Count == 0)
        {
            binds.Add(ListenAddress.Default);
        }

        var udp = parse.GetValue(UdpOption);
        if (udp && !HasIpAddressForUdp(binds))
        {
            return ExitCodes.Usage;
        }

        var settings = ReadSettings(parse, binds, inherited, poller, udp);
        using var loggerFactory = CreateLoggerFactory(parse.GetValue(LogLevelOption));
        return ServerHost.Run(settings, loggerFactory.CreateLogger(Name), Name);
    }

    /// <summary>The --bind addresses in order; false (after one line on stderr) for one that does not parse or is given twice.</summary>
    private static bool TryReadBinds(ParseResult parse, out List<ListenAddress> binds)
    {
        binds = [];
        foreach (var text in parse.GetValue(BindOption) ?? [])
        {
            if (!ListenAddress.TryParse(text, out var address, out var error))
            {
                Console.Error.WriteLine($"{Name}: invalid --bind value '{text}': {error}");
                return false;
            }

            if (address is ListenAddress.Unix && HostPlatform.UnixSocketsUnavailable is { } noUnix)
            {
                Console.Error.WriteLine($"{Name}: invalid --bind value '{text}': {noUnix}");
                return false;
            }

            if (binds.Contains(address))
            {
                Console.Error.WriteLine($"{Name}: invalid --bind value '{text}': the same address is given twice");
                return false;
            }

            binds.Add(address);
        }

        return true;
    }

    /// <summary>Socket activation: reads (and unsets) LISTEN_*, and checks every descriptor before any is used.</summary>
    private static bool TryTakeInheritedSockets(out IReadOnlyList<InheritedSocket> inherited)
    {
        if (!HostPlatform.HasServiceManager)
        {
            inherited = [];
            return true;
        }

        if (!SocketActivation.TryTake(SocketActivation.ProcessEnvironment, Environment.ProcessId, out inherited, out var activationError))
        {
            Console.Error.WriteLine($"{Name}: {activationError}");
            return false;
        }

        return true;
    }

    /// <summary>--udp echoes beside a TCP address and port; false (after one line on stderr) when there is none.</summary>
    private static bool HasIpAddressForUdp(List<ListenAddress> binds)
    {
        if (binds.All(b => b is ListenAddress.Unix))
        {
            Console.Error.WriteLine(binds.Count > 0
                ? $"{Name}: invalid --bind value '{binds[0]}': --udp needs an IP address and port, not a unix socket"
                : $"{Name}: --udp echoes beside a --bind IP address; with sockets from systemd, pass UDP sockets (ListenDatagram=) instead");
            return false;
        }

        return true;
    }

    private static ServerSettings ReadSettings(ParseResult parse, List<ListenAddress> binds, IReadOnlyList<InheritedSocket> inherited,
        PollerKind poller, bool udp) => new()
    {
        Binds = binds,
        Inherited = inherited,
        Udp = udp,
        Poller = poller,
        Reactors = parse.GetValue(ReactorsOption),
        Backlog = parse.GetValue(BacklogOption),
        StatsInterval = parse.GetValue(StatsIntervalOption),
        Echo = LimitOptions.Apply(parse, new EchoOptions
        {
            MaxPendingBytes = (int)(parse.GetValue(MaxPendingOption) ?? EchoOptions.DefaultMaxPendingBytes),
            ZeroCopy = parse.GetValue(ZeroCopyOption) == "on",
            MaxConnections = parse.GetValue(MaxConnectionsOption),
            IdleTimeout = parse.GetValue(IdleTimeoutOption),
            KeepAlive = ReadKeepAlive(parse),
            SocketBufferBytes = (int)(parse.GetValue(SocketBuffersOption) ?? 0),
            ShutdownTimeout = parse.GetValue(ShutdownTimeoutOption) ?? TimeSpan.FromSeconds(5),
        }),
    };

    /// <summary>One line per message on the console, with milliseconds and scopes.</summary>
    private static ILoggerFactory CreateLoggerFactory(LogLevel level) => LoggerFactory.Create(builder => builder
        .SetMinimumLevel(level)
        .AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.IncludeScopes = true;
            console.TimestampFormat = "HH:mm:ss.fff ";
        }));

    private static Option<string> CreateZeroCopyOption()
    {
        var option = new Option<string>("--zero-copy")
        {
            Description = "Echo large reads with splice(2) through a pipe, so the bytes stay in the kernel (Linux; "
                + "small messages use read/write either way; ignored on kqueue systems and on Windows, which have no splice)",
            HelpName = "on|off",
            DefaultValueFactory = _ => "on",
        };
        option.AcceptOnlyFromAmong("on", "off");
        return option;
    }

    private static PollerKind ParsePoller(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "auto";
        if (Enum.TryParse<PollerKind>(text, ignoreCase: true, out var kind) && Enum.IsDefined(kind) && !int.TryParse(text, out _))
        {
            return kind;
        }

        result.AddError($"--poller: '{text}' is not one of auto, epoll, kqueue, afd.");
        return PollerKind.Auto;
    }

    private static int ParseReactors(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "1";
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return Environment.ProcessorCount;
        }

        if (int.TryParse(text, out var n) && n is >= 1 and <= 1024)
        {
            return n;
        }

        result.AddError($"--reactors must be a number from 1 to 1024 or 'auto', not '{text}'.");
        return 1;
    }

    private static LogLevel ParseLogLevel(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Enum.TryParse<LogLevel>(text, ignoreCase: true, out var level) && Enum.IsDefined(level) && !int.TryParse(text, out _))
        {
            return level;
        }

        result.AddError($"--log-level: '{text}' is not one of Trace, Debug, Information, Warning, Error, Critical, None.");
        return LogLevel.Information;
    }
}
