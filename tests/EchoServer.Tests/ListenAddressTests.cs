using System.Net;
using EchoServer.Cli;
using EchoServer.Program;
using EchoServer.Reactor.Net;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The host's typed seams, in process: a --bind value parsed once, a listen failure as a typed error, durations.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9000", "127.0.0.1:9000")]
    [InlineData("[::1]:7", "[::1]:7")]
    [InlineData("localhost:9000", "127.0.0.1:9000")]
    [InlineData("unix:/run/echo.sock", "unix:/run/echo.sock")]
    public void A_bind_value_parses_into_an_ip_or_a_unix_address(string text, string written)
    {
        ListenAddress.TryParse(text, out var address, out var error).Should().BeTrue(error);

        address.ToString().Should().Be(written);
        address.Should().BeOfType(text.StartsWith("unix:", StringComparison.Ordinal) ? typeof(ListenAddress.Unix) : typeof(ListenAddress.Ip));
    }

    [Theory]
    [InlineData("unix:")]
    [InlineData("unix:/tmp/a\0b")]
    [InlineData("10.1:7")]
    [InlineData("::1:7")]
    [InlineData("127.0.0.1:65536")]
    public void What_cannot_be_listened_on_is_refused_when_parsed(string text)
    {
        ListenAddress.TryParse(text, out _, out var error).Should().BeFalse();
        error.Should().NotBeEmpty();
    }

    [Fact]
    public void Port_zero_twice_is_two_listeners_not_one_address_given_twice()
    {
        Parse("127.0.0.1:0").Should().NotBe(Parse("127.0.0.1:0"));
        Parse("127.0.0.1:9000").Should().Be(Parse("127.0.0.1:9000"));
        Parse("unix:/run/a.sock").Should().Be(Parse("unix:/run/a.sock"));
        Parse("unix:/run/a.sock").Should().NotBe(Parse("unix:/run/b.sock"));
    }

    private static ListenAddress Parse(string text) =>
        ListenAddress.TryParse(text, out var address, out var error) ? address : throw new FormatException(error);

    [Fact]
    public void A_taken_port_is_a_listen_failure_carrying_the_address_transport_and_errno()
    {
        using var taken = TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = new ListenAddress.Ip(taken.LocalEndPoint);

        var failure = FluentActions.Invoking(() => ListenFailure.Wrap(address, ListenTransport.Tcp, () => TcpListener.Bind(address.EndPoint)))
            .Should().Throw<ListenFailure>().Which;

        failure.Address.Should().Be(address);
        failure.Transport.Should().Be(ListenTransport.Tcp);
        failure.Errno.IsAddressInUse.Should().BeTrue(failure.Message);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("500ms", 500)]
    [InlineData("2m", 120_000)]
    [InlineData("1.5", 1_500)]
    public void Durations_are_written_one_way_for_both_commands(string text, int milliseconds)
    {
        Duration.TryParse(text, out var value).Should().BeTrue();
        value.Should().Be(TimeSpan.FromMilliseconds(milliseconds));
    }
}
