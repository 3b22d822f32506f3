using System.CommandLine;
using EchoServer.Cli;
using EchoServer.Echo;

namespace EchoServer.Program;

/// <summary>The command-line options that bound what clients may take together: the memory budget and the per-address limit.</summary>
internal static class LimitOptions
{
    private const long MinPendingTotal = 64 * 1024;

    public static readonly Option<long?> MaxPendingTotal = CreateMaxPendingTotal();

    public static readonly Option<int> MaxConnectionsPerAddress = CreateMaxConnectionsPerAddress();

    private static Option<long?> CreateMaxPendingTotal()
    {
        var option = new Option<long?>("--max-pending-total")
        {
            Description = "Most bytes owed to all clients together (copied tails and bytes held in splice pipes), split evenly over the "
                + "reactors; at the limit reads shrink to 1 KiB until the total falls (nothing is dropped; "
                + "a client that owes is not read until paid, as always); " + ByteSize.Forms + " [default: 64MiB]",
            HelpName = "size",
            CustomParser = result => CommandLineRules.ParseSize(result, allowZero: false),
        };
        option.Validators.Add(result =>
        {
            if (CommandLineRules.TryGetValue(result, out long? value) && value < MinPendingTotal)
            {
                result.AddError($"{option.Name} must be at least 64KiB, not {value}.");
            }
        });
        return option;
    }

    private static Option<int> CreateMaxConnectionsPerAddress()
    {
        var option = new Option<int>("--max-connections-per-address")
        {
            Description = "Connections from one IPv4 address or one IPv6 /64 beyond this many are accepted and reset at once "
                + "(counted as rejected_per_address); unix-socket clients are not limited; 0 = no limit",
            HelpName = "N",
            DefaultValueFactory = _ => 0,
        };
        CommandLineRules.RequireRange(option, 0);
        return option;
    }

    /// <summary>The limits as given on the command line, onto <paramref name="echo"/>.</summary>
    public static EchoOptions Apply(ParseResult parse, EchoOptions echo) => echo with
    {
        MaxPendingTotal = parse.GetValue(MaxPendingTotal) ?? EchoOptions.DefaultMaxPendingTotal,
        MaxConnectionsPerAddress = parse.GetValue(MaxConnectionsPerAddress),
    };
}
