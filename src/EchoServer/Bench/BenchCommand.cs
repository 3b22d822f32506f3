using System.CommandLine;
using System.CommandLine.Parsing;
using EchoServer.Program;
using EchoServer.Reactor.Net;

namespace EchoServer.Bench;

/// <summary>
/// <c>echoserver bench</c>: a load generator on our own event loop that checks every echoed byte and
/// ends with one machine-readable RESULT line. Bad options are parse errors, so the root command's
/// handling prints them and exits with <see cref="ExitCodes.Usage"/>.
/// </summary>
internal static class BenchCommand
{
    private const string Name = "echoserver";
    private const int MaxSize = 16 * 1024 * 1024;
    private const int DefaultSize = 64;
    private const int DefaultBulkSize = 16384;
    private const int MaxMessagesInFlight = 65536;

    private static readonly string[] Modes = ["pingpong", "pipeline", "bulk", "idle"];

    /// <summary>Builds the <c>bench</c> subcommand.</summary>
    public static Command Create()
    {
        var target = new Option<string>("--target", "-t")
        {
            Description = "Echo server to load: 127.0.0.1:9000, [::1]:9000, 10.0.0.5:7",
            HelpName = "host:port",
            DefaultValueFactory = _ => "127.0.0.1:9000",
        };
        var mode = new Option<string>("--mode", "-m")
        {
            Description = "pingpong: one message in flight per connection, round trips timed; pipeline: up to --depth bytes in flight; " +
                "bulk: write as fast as the socket takes it; idle: connect, one round trip, hold for --duration, one more round trip",
            DefaultValueFactory = _ => "pingpong",
        };
        mode.AcceptOnlyFromAmong(Modes);
        var conns = new Option<int>("--conns", "-c")
        {
            Description = "Connections to open",
            HelpName = "N",
            DefaultValueFactory = _ => 50,
        };
        var size = new Option<int?>("--size", "-s")
        {
            Description = $"Bytes per message (bulk: per write) [default: {DefaultSize}; bulk: {DefaultBulkSize}]",
            HelpName = "bytes",
        };
        var depth = new Option<int>("--depth")
        {
            Description = "Pipeline: bytes in flight per connection (at least --size)",
            HelpName = "bytes",
            DefaultValueFactory = _ => 16384,
        };
        var duration = new Option<double>("--duration", "-d")
        {
            Description = "Seconds to measure (idle: to hold the connections)",
            HelpName = "seconds",
            DefaultValueFactory = _ => 5,
        };
        var warmup = new Option<double>("--warmup")
        {
            Description = "Seconds of traffic before measuring starts (not used by idle)",
            HelpName = "seconds",
            DefaultValueFactory = _ => 1,
        };
        var progress = new Option<double?>("--progress")
        {
            Description = "Seconds between progress lines on stderr; 0 for none [default: 1 if --duration is 5 or more, else none]",
            HelpName = "seconds",
        };

        target.Validators.Add(result =>
        {
            if (TryGetValue(result, out string? text) && !TryParseTarget(text ?? string.Empty, out _, out var error))
            {
                result.AddError($"invalid --target value '{text}': {error}");
            }
        });
        AddRange(conns, 1, 1_000_000);
        size.Validators.Add(result =>
        {
            if (TryGetValue(result, out int? value) && value is < 1 or > MaxSize)
            {
                result.AddError($"--size must be between 1 and {MaxSize}, not {value}.");
            }
        });
        AddRange(depth, 1, int.MaxValue);
        AddSeconds(duration, allowZero: false);
        AddSeconds(warmup, allowZero: true);
        progress.Validators.Add(result =>
        {
            if (TryGetValue(result, out double? value))
            {
                RequireSeconds(result, value ?? 0, "--progress", allowZero: true);
            }
        });

        var command = new Command("bench", "Load an echo server (this one or any other) and check every echoed byte; ends with one RESULT line on stdout.")
        {
            target,
            mode,
            conns,
            size,
            depth,
            duration,
            warmup,
            progress,
        };
        command.SetAction(parse =>
        {
            _ = TryParseTarget(parse.GetValue(target)!, out var endPoint, out _);
            var benchMode = ParseMode(parse.GetValue(mode)!);
            var sizeValue = parse.GetValue(size) ?? (benchMode == BenchMode.Bulk ? DefaultBulkSize : DefaultSize);
            var depthValue = parse.GetValue(depth);
            if (benchMode == BenchMode.Pipeline && (depthValue < sizeValue || depthValue / sizeValue > MaxMessagesInFlight))
            {
                // Checked here rather than in a command validator: those run before option defaults are filled in.
                Console.Error.WriteLine(depthValue < sizeValue
                    ? $"{Name}: --depth ({depthValue}) must be at least --size ({sizeValue}) in pipeline mode."
                    : $"{Name}: --depth / --size must be at most {MaxMessagesInFlight} messages in flight per connection.");
                Console.Error.WriteLine($"Try '{Name} bench --help' for the options.");
                return ExitCodes.Usage;
            }

            var seconds = parse.GetValue(duration);
            var options = new BenchOptions
            {
                Target = endPoint,
                Mode = benchMode,
                Connections = parse.GetValue(conns),
                Size = sizeValue,
                Depth = depthValue,
                Duration = TimeSpan.FromSeconds(seconds),
                Warmup = TimeSpan.FromSeconds(parse.GetValue(warmup)),
                Progress = TimeSpan.FromSeconds(parse.GetValue(progress) ?? (seconds >= 5 ? 1 : 0)),
            };
            _ = OpenFileLimit.TryRaiseToHardLimit(out _, out _); // one descriptor per connection, as for the server
            return BenchRun.Execute(options, Console.Out, Console.Error, Name);
        });
        return command;
    }

    /// <summary>Parses a --target value: <see cref="BindAddress.TryParse"/>, but port 0 is not a destination.</summary>
    internal static bool TryParseTarget(string text, out System.Net.IPEndPoint endPoint, out string error)
    {
        if (!BindAddress.TryParse(text, out endPoint, out error))
        {
            return false;
        }

        if (endPoint.Port == 0)
        {
            error = "port 0 cannot be connected to; give the server's port (1-65535)";
            return false;
        }

        return true;
    }

    private static BenchMode ParseMode(string mode) => mode switch
    {
        "pipeline" => BenchMode.Pipeline,
        "bulk" => BenchMode.Bulk,
        "idle" => BenchMode.Idle,
        _ => BenchMode.PingPong,
    };

    /// <summary>
    /// Reads an option's value inside a validator. Validators run even when the text did not convert
    /// (say <c>--conns x</c>), and reading the value then throws; the conversion error is already
    /// among the parse errors, so the validator has nothing to add.
    /// </summary>
    /// <summary>Reads an option's value in a validator; false when the text did not convert (that has its own error).</summary>
    internal static bool TryGetValue<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
    }

    private static void AddSeconds(Option<double> option, bool allowZero) => option.Validators.Add(result =>
    {
        if (TryGetValue(result, out double value))
        {
            RequireSeconds(result, value, option.Name, allowZero);
        }
    });

    private static void AddRange(Option<int> option, int min, int max) => option.Validators.Add(result =>
    {
        if (TryGetValue(result, out int value) && (value < min || value > max))
        {
            result.AddError($"{option.Name} must be between {min} and {max}, not {value}.");
        }
    });

    private static void RequireSeconds(OptionResult result, double value, string name, bool allowZero)
    {
        if (double.IsNaN(value) || double.IsInfinity(value) || value < 0 || (!allowZero && value == 0) || value > 86400 * 365)
        {
            result.AddError(allowZero
                ? $"{name} must be a number of seconds, 0 or more."
                : $"{name} must be a number of seconds greater than 0.");
        }
    }
}
