using EchoServer.Cli;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>Sizes as the options take them: bytes, or KiB/MiB/GiB (K/M/G), powers of 1024, whole numbers.</summary>
public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("65536", 65536L)]
    [InlineData("256KiB", 256L * 1024)]
    [InlineData("256k", 256L * 1024)]
    [InlineData("4MiB", 4L * 1024 * 1024)]
    [InlineData("4M", 4L * 1024 * 1024)]
    [InlineData("1gib", 1L << 30)]
    [InlineData("8G", 8L << 30)]
    public void A_size_in_bytes_or_with_a_binary_suffix_parses(string text, long expected)
    {
        ByteSize.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(expected);
    }

    [Theory]
    [InlineData("")]
    [InlineData("KiB")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1.5MiB")]
    [InlineData("64KB")]
    [InlineData("64B")]
    [InlineData("1T")]
    [InlineData("0x10")]
    [InlineData("9223372036854775808")]
    [InlineData("8589934592G")]
    public void Anything_else_does_not(string text)
    {
        ByteSize.TryParse(text, out _).Should().BeFalse();
    }
}
