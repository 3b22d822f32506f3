using System.CommandLine;
using System.CommandLine.Parsing;
using EchoServer.Cli;
using EchoServer.Echo;

namespace EchoServer.Program;

/// <summary>The options for TCP connections the kernel looks after: keepalive and socket buffers.</summary>
internal static partial class Entry
{
    private static readonly Option<KeepAlivePolicy> KeepAliveOption = new("--keepalive")
    {
        Description = "Close TCP clients that vanished without a FIN (a lid shut, a cable pulled, a NAT entry gone): after 'idle' "
            + "with nothing received the kernel probes every 'interval' and drops the connection after 'count' unanswered probes; "
            + "bytes sent and unacknowledged as long are dropped too (TCP_USER_TIMEOUT on Linux, so also a client that reads "
            + "nothing that long while owed bytes; TCP_RXT_CONNDROPTIME on macOS; TCP_MAXUNACKTIME on FreeBSD 14+; TCP_MAXRT on Windows). A vanished "
            + "client is closed idle + count x interval after its last packet (plus timer slack): 2m by default. On by default, unlike nginx, HAProxy and systemd "
            + "(which then use the kernel's 2h11m), as this server has no other timeout. Parts left out take the default's; whole "
            + "seconds; not for unix sockets; off = the kernel's rules [default: 1m:15s:4]",
        HelpName = "idle[:interval[:count]]|off",
        CustomParser = ParseKeepAlive,
    };

    private static readonly Option<long?> SocketBuffersOption = new("--socket-buffers")
    {
        Description = "SO_RCVBUF and SO_SNDBUF of accepted TCP connections (nginx's listen rcvbuf=/sndbuf=), set on the listener so "
            + "the handshake sizes the window for them; bounds what the kernel holds per connection. Linux doubles the value and "
            + "caps it at net.core.rmem_max / wmem_max; a fixed size turns the kernel's autotuning off. " + ByteSize.Forms
            + "; 4KiB to 1GiB [default: the kernel's autotuning]",
        HelpName = "size",
        CustomParser = result => CommandLineRules.ParseSize(result, allowZero: false),
    };

    /// <summary>What the parser gives for <c>off</c> (System.CommandLine cannot carry a null from a custom parser).</summary>
    private static readonly KeepAlivePolicy KeepAliveOff = new(TimeSpan.Zero, TimeSpan.Zero, 0);

    /// <summary>The --keepalive policy: the default when not given, null for <c>off</c>.</summary>
    private static KeepAlivePolicy? ReadKeepAlive(ParseResult parse) =>
        parse.GetResult(KeepAliveOption) is null ? KeepAlivePolicy.Default
        : parse.GetValue(KeepAliveOption) is var policy && ReferenceEquals(policy, KeepAliveOff) ? null
        : policy;

    /// <summary>--keepalive: <c>off</c>, or idle[:interval[:count]] with the default's values for the parts not given.</summary>
    private static KeepAlivePolicy ParseKeepAlive(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (string.Equals(text, "off", StringComparison.OrdinalIgnoreCase))
        {
            return KeepAliveOff;
        }

        var parts = text.Split(':');
        var fallback = KeepAlivePolicy.Default;
        if (parts.Length <= 3 && text.Length > 0
            && TryReadProbeTime(parts[0], fallback.Idle, out var idle)
            && TryReadProbeTime(parts.ElementAtOrDefault(1), fallback.Interval, out var interval)
            && TryReadCount(parts.ElementAtOrDefault(2), fallback.Count, out var count))
        {
            return new KeepAlivePolicy(idle, interval, count);
        }

        result.AddError($"--keepalive: '{text}' is not idle[:interval[:count]] (like 1m:15s:4, 30s, 2s:1s:3) with times from 1s to "
            + "32767s and a count from 1 to 127, or off.");
        return KeepAlivePolicy.Default;
    }

    private static bool TryReadProbeTime(string? text, TimeSpan fallback, out TimeSpan value)
    {
        value = fallback;
        return string.IsNullOrEmpty(text)
            || (Duration.TryParse(text, out value) && value >= TimeSpan.FromSeconds(1) && value <= TimeSpan.FromSeconds(32767));
    }

    private static bool TryReadCount(string? text, int fallback, out int value)
    {
        value = fallback;
        return string.IsNullOrEmpty(text)
            || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value)
                && value is >= 1 and <= 127);
    }
}
