using EchoServer.Systemd;
using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>The LISTEN_* variables: read once, removed whatever they held, and checked (in process, with a fake environment).</summary>
public sealed class SocketActivationParsingTests
{
    [Theory]
    [InlineData("4242", "1", null, true, null)]                      // for another process: ignored
    [InlineData(null, "1", null, true, null)]                        // no LISTEN_PID: nothing passed
    [InlineData("abc", "1", null, false, "LISTEN_PID='abc'")]
    [InlineData("SELF", "-1", null, false, "LISTEN_FDS='-1'")]
    [InlineData("SELF", "2", "one", false, "names 1 descriptor(s) but LISTEN_FDS says 2")]
    [InlineData("SELF", "0", null, true, null)]
    public void The_variables_are_removed_whatever_they_held(string? pid, string? fds, string? names, bool ok, string? error)
    {
        var self = 1000;
        var environment = new FakeEnvironment(new()
        {
            ["LISTEN_PID"] = pid == "SELF" ? self.ToString(System.Globalization.CultureInfo.InvariantCulture) : pid,
            ["LISTEN_FDS"] = fds,
            ["LISTEN_FDNAMES"] = names,
        });

        var result = SocketActivation.TryTake(environment, self, out var sockets, out var message);

        result.Should().Be(ok, message);
        sockets.Should().BeEmpty();
        if (error is not null)
        {
            message.Should().Contain(error);
        }

        environment.Removed.Should().BeEquivalentTo(["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]);
    }

    private sealed class FakeEnvironment(Dictionary<string, string?> values) : SocketActivation.IEnvironment
    {
        public List<string> Removed { get; } = [];

        public string? Get(string name) => values.GetValueOrDefault(name);

        public void Remove(string name) => Removed.Add(name);
    }
}
