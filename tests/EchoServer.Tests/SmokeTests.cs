using FluentAssertions;

namespace EchoServer.Tests;

public class SmokeTests
{
    [Fact]
    public void Server_binary_is_built_next_to_the_tests()
    {
        File.Exists(Path.Combine(AppContext.BaseDirectory, "echoserver.dll")).Should().BeTrue();
    }
}
