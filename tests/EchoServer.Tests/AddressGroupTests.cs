using System.Net;
using EchoServer.Echo;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>What --max-connections-per-address counts as one client: an IPv4 address, or an IPv6 /64.</summary>
public sealed class AddressGroupTests
{
    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff:eeee:dddd:cccc")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::2")]
    [InlineData("fe80::1", "fe80::abcd")]
    [InlineData("192.0.2.7", "::ffff:192.0.2.7")]
    public void Addresses_in_one_group_count_together(string a, string b) =>
        Group(a).Should().Be(Group(b));

    [Theory]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1")]
    [InlineData("2001:db8:1:2::1", "2001:db9:1:2::1")]
    [InlineData("192.0.2.7", "192.0.2.8")]
    [InlineData("127.0.0.1", "::1")]
    [InlineData("0.0.0.1", "::1")]
    public void Addresses_in_different_groups_count_apart(string a, string b) =>
        Group(a).Should().NotBe(Group(b));

    [Theory]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64")]
    public void A_group_prints_as_its_address_or_prefix(string address, string text) =>
        Group(address).ToString().Should().Be(text);

    [Fact]
    public void A_client_without_an_ip_address_is_not_grouped() =>
        AddressGroup.Of(null).Should().BeNull("a unix-socket client has no IP address and is not limited");

    private static AddressGroup Group(string address) => AddressGroup.Of(new IPEndPoint(IPAddress.Parse(address), 4242))!.Value;
}
