using System.Reflection;
using System.Runtime.CompilerServices;
using FluentAssertions;

namespace EchoBench.Tests;

/// <summary>echobench is the reactor library's second user: it sees what any user sees, and shares no code with the app.</summary>
public sealed class PublicApiUserTests
{
    private static readonly Assembly Bench = typeof(Target).Assembly;

    [Fact]
    public void The_library_grants_echobench_no_internals()
    {
        var library = typeof(EchoServer.Reactor.EventLoop).Assembly;

        library.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName)
            .Should().NotContain(name => name.StartsWith("echobench", StringComparison.OrdinalIgnoreCase));
        Bench.GetReferencedAssemblies().Select(a => a.Name).Should().Contain("EchoServer.Reactor");
    }

    [Fact]
    public void Echobench_does_not_reference_the_echoserver_app()
    {
        Bench.GetReferencedAssemblies().Select(a => a.Name).Should().NotContain("echoserver", "the app and the load generator share no assembly");
    }
}
