using System.Net;
using EchoServer.Echo;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The per-address counts behind --max-connections-per-address.</summary>
public sealed class AddressGateTests
{
    private static readonly AddressGroup First = AddressGroup.Of(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1))!.Value;
    private static readonly AddressGroup Second = AddressGroup.Of(new IPEndPoint(IPAddress.Parse("192.0.2.2"), 1))!.Value;

    [Fact]
    public void A_group_is_admitted_up_to_the_limit_and_others_are_counted_apart()
    {
        var gate = new AddressGate(2);

        gate.TryEnter(First).Should().BeTrue();
        gate.TryEnter(First).Should().BeTrue();
        gate.TryEnter(First).Should().BeFalse("the third connection from one address is over the limit of 2");
        gate.TryEnter(Second).Should().BeTrue("another address has its own count");
    }

    [Fact]
    public void A_close_makes_room_and_the_last_one_removes_the_entry()
    {
        var gate = new AddressGate(1);
        gate.TryEnter(First).Should().BeTrue();
        gate.TryEnter(First).Should().BeFalse();

        gate.Exit(First);

        gate.Groups.Should().Be(0, "a group with nothing open keeps no entry, so the table does not grow with every address ever seen");
        gate.TryEnter(First).Should().BeTrue();
    }

    [Fact]
    public void Reactors_entering_and_leaving_at_once_keep_the_count_exact()
    {
        var gate = new AddressGate(1_000_000);
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                gate.TryEnter(First).Should().BeTrue();
                gate.Exit(First);
            }
        });

        gate.Groups.Should().Be(0);
    }
}
