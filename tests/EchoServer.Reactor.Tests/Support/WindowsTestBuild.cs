using EchoServer.TestSupport;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>
/// This test project published self-contained for win-x64 (<c>EchoServer.Reactor.Tests.exe</c>, an xunit v3 in-process
/// runner), once per source version, into <c>obj/wine/tests-&lt;fingerprint&gt;</c> under the repository (<see cref="WindowsPublish"/>).
/// </summary>
internal static class WindowsTestBuild
{
    /// <summary>Publishes (or finds the publish of) the current sources; returns the path of the .exe.</summary>
    /// <exception cref="InvalidOperationException">The publish failed (with its output).</exception>
    public static Task<string> PublishAsync(string root) => WindowsPublish.PublishAsync(
        root, "tests", "tests/EchoServer.Reactor.Tests", "EchoServer.Reactor.Tests.exe",
        ["src/EchoServer.Reactor", "tests/EchoServer.Reactor.Tests", "tests/Shared"]);
}
