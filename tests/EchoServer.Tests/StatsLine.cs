using System.Globalization;
using System.Text.RegularExpressions;

namespace EchoServer.Tests;

/// <summary>Reads fields of the server's <c>stats: name=value …</c> log line (--stats-interval).</summary>
internal static class StatsLine
{
    /// <summary>True if <paramref name="line"/> is a stats line.</summary>
    public static bool Is(string line) => line.Contains("stats: ", StringComparison.Ordinal);

    /// <summary>The integer value of <paramref name="name"/> in a stats line, or null if the line has no such field.</summary>
    public static long? Field(string line, string name)
    {
        if (!Is(line))
        {
            return null;
        }

        var match = Regex.Match(line, $@"\b{Regex.Escape(name)}=(\d+)\b", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }
}
