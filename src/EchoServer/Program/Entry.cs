using System.CommandLine;
using System.CommandLine.Help;
using EchoServer.Echo;
using Microsoft.Extensions.Logging;

namespace EchoServer.Program;

/// <summary>The <c>echoserver</c> command: parses the command line and runs the server.</summary>
internal static class Entry
{
    private const string Name = "echoserver";

    private static readonly Option<string> BindOption = new("--bind", "-b")
    {
        Description = "Address and port to listen on: 127.0.0.1:9000, [::1]:9000, 0.0.0.0:9000 (port 0 picks a free port)",
        HelpName = "host:port",
        DefaultValueFactory = _ => "127.0.0.1:9000",
    };

    private static readonly Option<int> MaxPendingOption = new("--max-pending-bytes")
    {
        Description = "Bytes owed to one client before the server stops reading from it until the client reads",
        HelpName = "bytes",
        DefaultValueFactory = _ => EchoOptions.DefaultMaxPendingBytes,
    };

    private static readonly Option<LogLevel> LogLevelOption = new("--log-level")
    {
        Description = "Least severe log level to print (Debug shows each connection)",
        DefaultValueFactory = _ => LogLevel.Information,
    };

    public static int Main(string[] args)
    {
        var root = new RootCommand("A TCP echo server (RFC 862) on a hand-rolled, edge-triggered epoll/kqueue event loop.")
        {
            BindOption,
            MaxPendingOption,
            LogLevelOption,
        };
        root.Subcommands.Add(Bench.BenchCommand.Create());
        MaxPendingOption.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() < 1)
            {
                result.AddError("--max-pending-bytes must be at least 1.");
            }
        });
        root.SetAction(Run);

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"{Name}: {error.Message}");
            }

            Console.Error.WriteLine($"Try '{Name} --help' for the options.");
            return ExitCodes.Usage;
        }

        return parse.Invoke();
    }

    private static int Run(ParseResult parse)
    {
        var bind = parse.GetValue(BindOption)!;
        if (!BindAddress.TryParse(bind, out var endPoint, out var error))
        {
            Console.Error.WriteLine($"{Name}: invalid --bind value '{bind}': {error}");
            return ExitCodes.Usage;
        }

        var options = new EchoOptions { MaxPendingBytes = parse.GetValue(MaxPendingOption) };
        using var loggerFactory = LoggerFactory.Create(builder => builder
            .SetMinimumLevel(parse.GetValue(LogLevelOption))
            .AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
            }));
        return ServerHost.Run(endPoint, options, loggerFactory.CreateLogger(Name), Name);
    }
}
