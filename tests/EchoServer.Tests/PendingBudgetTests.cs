using EchoServer.Echo;
using FluentAssertions;
using Microsoft.Extensions.Logging.Abstractions;

namespace EchoServer.Tests;

/// <summary>One loop's share of --max-pending-total: when reads shrink, and back.</summary>
public sealed class PendingBudgetTests
{
    private const int ReadBytes = 256 * 1024;

    [Fact]
    public void Reads_shrink_once_the_share_is_reached_and_grow_back_once_below_it()
    {
        var budget = new PendingBudget(1024 * 1024, loops: 1, ReadBytes, NullLogger.Instance);

        budget.Charge(512 * 1024);
        budget.ReadBytes.Should().Be(ReadBytes, "half the share is held");
        budget.Charge(512 * 1024);
        budget.IsReached.Should().BeTrue();
        budget.ReadBytes.Should().Be(PendingBudget.ReadBytesAtLimit);
        budget.Total.Should().Be(1024 * 1024);

        budget.Credit(1);
        budget.IsReached.Should().BeFalse();
        budget.ReadBytes.Should().Be(ReadBytes);
    }

    [Fact]
    public void Each_loop_gets_an_equal_share()
    {
        var budget = new PendingBudget(1024 * 1024, loops: 4, ReadBytes, NullLogger.Instance);

        budget.Charge((256 * 1024) - 1);
        budget.IsReached.Should().BeFalse();
        budget.Charge(1);
        budget.IsReached.Should().BeTrue("a quarter of the total is this loop's share");
    }

    [Fact]
    public void A_read_size_below_the_limit_size_is_kept()
    {
        var budget = new PendingBudget(1024, loops: 1, readBytes: 512, NullLogger.Instance);

        budget.Charge(1024);

        budget.ReadBytes.Should().Be(512, "reads never grow at the limit");
    }
}
