using System.CommandLine;
using EchoServer.Cli;
using EchoServer.Reactor.Net;

namespace EchoBench;

/// <summary>
/// The <c>echobench</c> command: a load generator on the reactor library's event loop that checks every echoed
/// byte and ends with one machine-readable RESULT line. Bad options are parse errors: one line each on stderr and
/// exit code <see cref="ExitCodes.Usage"/>.
/// </summary>
internal static class BenchCommand
{
    private const string Name = "echobench";
    private const int MaxSize = 16 * 1024 * 1024;
    private const int DefaultSize = 64;
    private const int DefaultBulkSize = 16384;
    private const int MaxMessagesInFlight = 65536;

    private static readonly string[] Modes = ["pingpong", "pipeline", "bulk", "idle"];

    public static int Main(string[] args) => CommandLineRules.Invoke(Create(), args, Name);

    /// <summary>Builds the <c>echobench</c> command.</summary>
    public static RootCommand Create()
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
        var duration = new Option<TimeSpan?>("--duration", "-d")
        {
            Description = "How long to measure (idle: to hold the connections), like 30s, 500ms, 2m [default: 5s]",
            HelpName = "duration",
            CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: false),
        };
        var warmup = new Option<TimeSpan?>("--warmup")
        {
            Description = "Traffic before measuring starts (not used by idle) [default: 1s]",
            HelpName = "duration",
            CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: true),
        };
        var progress = new Option<TimeSpan?>("--progress")
        {
            Description = "Time between progress lines on stderr; 0 for none [default: 1s if --duration is 5s or more, else none]",
            HelpName = "duration",
            CustomParser = result => CommandLineRules.ParseDuration(result, allowZero: true),
        };

        target.Validators.Add(result =>
        {
            if (CommandLineRules.TryGetValue(result, out string? text) && !Target.TryParse(text ?? string.Empty, out _, out var error))
            {
                result.AddError($"invalid --target value '{text}': {error}");
            }
        });
        CommandLineRules.RequireRange(conns, 1, 1_000_000);
        size.Validators.Add(result =>
        {
            if (CommandLineRules.TryGetValue(result, out int? value) && value is < 1 or > MaxSize)
            {
                result.AddError($"--size must be between 1 and {MaxSize}, not {value}.");
            }
        });
        CommandLineRules.RequireRange(depth, 1);

        var command = new RootCommand("Load an echo server (echoserver or any other) and check every echoed byte; ends with one RESULT line on stdout.")
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
            _ = Target.TryParse(parse.GetValue(target)!, out var endPoint, out _);
            var benchMode = ParseMode(parse.GetValue(mode)!);
            var sizeValue = parse.GetValue(size) ?? (benchMode == BenchMode.Bulk ? DefaultBulkSize : DefaultSize);
            var depthValue = parse.GetValue(depth);
            if (benchMode == BenchMode.Pipeline && (depthValue < sizeValue || depthValue / sizeValue > MaxMessagesInFlight))
            {
                // Checked here rather than in a command validator: those run before option defaults are filled in.
                Console.Error.WriteLine(depthValue < sizeValue
                    ? $"{Name}: --depth ({depthValue}) must be at least --size ({sizeValue}) in pipeline mode."
                    : $"{Name}: --depth / --size must be at most {MaxMessagesInFlight} messages in flight per connection.");
                Console.Error.WriteLine($"Try '{Name} --help' for the options.");
                return ExitCodes.Usage;
            }

            var measure = parse.GetValue(duration) ?? TimeSpan.FromSeconds(5);
            var options = new BenchOptions
            {
                Target = endPoint,
                Mode = benchMode,
                Connections = parse.GetValue(conns),
                Size = sizeValue,
                Depth = depthValue,
                Duration = measure,
                Warmup = parse.GetValue(warmup) ?? TimeSpan.FromSeconds(1),
                Progress = parse.GetValue(progress) ?? (measure >= TimeSpan.FromSeconds(5) ? TimeSpan.FromSeconds(1) : TimeSpan.Zero),
            };
            _ = OpenFileLimit.TryRaiseToHardLimit(out _, out _); // one descriptor per connection, as for the server
            return BenchRun.Execute(options, Console.Out, Console.Error, Name);
        });
        return command;
    }

    private static BenchMode ParseMode(string mode) => mode switch
    {
        "pipeline" => BenchMode.Pipeline,
        "bulk" => BenchMode.Bulk,
        "idle" => BenchMode.Idle,
        _ => BenchMode.PingPong,
    };
}
