using System.Globalization;

namespace EchoServer.Cli;

/// <summary>
/// Parses sizes as people write them: <c>65536</c> (bytes), <c>256KiB</c>, <c>4MiB</c>, <c>1GiB</c>, or the short
/// <c>256K</c>, <c>4M</c>, <c>1G</c> (the same powers of 1024, as nginx and systemd read them). Whole numbers only; the
/// suffix is case-insensitive. <c>KB</c>/<c>MB</c> are refused: whether they mean 1000 or 1024 is a guess. One parser
/// for both commands (echoserver and echobench): this file is compiled into each.
/// </summary>
internal static class ByteSize
{
    /// <summary>How the help text names the accepted forms.</summary>
    public const string Forms = "bytes, or with KiB/MiB/GiB (or K/M/G), powers of 1024";

    public static bool TryParse(string text, out long value)
    {
        value = 0;
        var digits = text.TrimEnd("KkMmGgIiBb".ToCharArray());
        var scale = text[digits.Length..].ToUpperInvariant() switch
        {
            "" => 1L,
            "K" or "KIB" => 1L << 10,
            "M" or "MIB" => 1L << 20,
            "G" or "GIB" => 1L << 30,
            _ => 0L,
        };
        if (scale == 0 || digits.Length == 0
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount > long.MaxValue / scale)
        {
            return false;
        }

        value = amount * scale;
        return true;
    }
}
