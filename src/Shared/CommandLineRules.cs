using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;

namespace EchoServer.Cli;

/// <summary>
/// The command-line rules both commands (echoserver and echobench) follow: usage errors on stderr with exit code 2,
/// an option given without its value is an error, durations written one way. Compiled into each command.
/// </summary>
internal static class CommandLineRules
{
    /// <summary>The exit code of every usage error (unknown option, bad value), in both commands.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Parses and runs; any parse error is a usage error: its message on stderr and exit code 2.</summary>
    public static int Invoke(Command command, string[] args, string name)
    {
        RequireValues(command);
        var parse = command.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"{name}: {error.Message}");
            }

            Console.Error.WriteLine($"Try '{name} --help' for the options.");
            return UsageExitCode;
        }

        return parse.Invoke();
    }

    /// <summary>
    /// An option that takes a value but was given without one (<c>--bind 127.0.0.1:9000 --bind</c>) is a usage
    /// error. System.CommandLine accepts a repeated option whose last occurrence has no value, using the values
    /// before it; counting the occurrences against the values catches that, for every option of every command.
    /// </summary>
    private static void RequireValues(Command command)
    {
        foreach (var option in command.Options)
        {
            if (option.Arity.MinimumNumberOfValues == 0)
            {
                continue; // a flag such as --udp, or --help
            }

            option.Validators.Add(result =>
            {
                if (!result.Implicit && result.IdentifierTokenCount > result.Tokens.Count)
                {
                    result.AddError($"{option.Name} needs a value each time it is given.");
                }
            });
        }

        foreach (var subcommand in command.Subcommands)
        {
            RequireValues(subcommand);
        }
    }

    /// <summary>Adds a validator: the option's value must lie in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static void RequireRange(Option<int> option, int minimum, int maximum = int.MaxValue) =>
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out int value) && (value < minimum || value > maximum))
            {
                result.AddError(maximum == int.MaxValue
                    ? $"{option.Name} must be at least {minimum}."
                    : $"{option.Name} must be between {minimum} and {maximum}, not {value}.");
            }
        });

    /// <summary>
    /// Reads an option's value inside a validator; false when the text did not convert (say <c>--conns x</c>):
    /// that already has its own parse error, and reading the value would throw.
    /// </summary>
    public static bool TryGetValue<T>(OptionResult result, out T value)
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

    /// <summary>A <c>CustomParser</c> for duration options (<see cref="Duration"/>: <c>30s</c>, <c>500ms</c>, <c>2m</c>).</summary>
    public static TimeSpan? ParseDuration(ArgumentResult result, bool allowZero)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (Duration.TryParse(text, out var value) && (allowZero || value > TimeSpan.Zero))
        {
            return value;
        }

        result.AddError($"{((OptionResult)result.Parent!).Option.Name}: '{text}' is not a duration (like 30s, 500ms, 2m{(allowZero ? ", 0" : string.Empty)}).");
        return null;
    }

    /// <summary>
    /// A <c>CustomParser</c> for size options (<see cref="ByteSize"/>: <c>65536</c>, <c>256KiB</c>, <c>4MiB</c>, <c>1G</c>); negative,
    /// unparsable, too large for a long, or zero where <paramref name="allowZero"/> is false: one error naming the option.
    /// </summary>
    public static long? ParseSize(ArgumentResult result, bool allowZero)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (ByteSize.TryParse(text, out var value) && (allowZero || value > 0))
        {
            return value;
        }

        result.AddError($"{((OptionResult)result.Parent!).Option.Name}: '{text}' is not a size{(allowZero ? string.Empty : " above 0")} "
            + "(like 65536, 256KiB, 4MiB, 1GiB).");
        return null;
    }

    /// <summary>Adds a validator: a size option's value, when given, must lie in [<paramref name="minimum"/>, <paramref name="maximum"/>].</summary>
    public static void RequireRange(Option<long?> option, long minimum, long maximum) =>
        option.Validators.Add(result =>
        {
            if (TryGetValue(result, out long? value) && value is { } bytes && (bytes < minimum || bytes > maximum))
            {
                result.AddError($"{option.Name} must be between {minimum} and {maximum} bytes, not {bytes}.");
            }
        });
}
