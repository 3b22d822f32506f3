using System.Reflection;
using System.Xml.Linq;
using EchoServer.Reactor.Tests.Net;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Support;

/// <summary>
/// The test classes of this project that also run on Windows, run under Wine from Linux in one go: this project published
/// for win-x64 (<see cref="WindowsTestBuild"/>) runs them once, and each reporting class (<see cref="WinePollerContractTests"/>,
/// <see cref="WineUdpSocketTests"/>) turns their cases into cases of its own, so the count shows in this run.
/// </summary>
internal static class WineTestRun
{
    private static readonly Type[] Classes = [typeof(AfdPollerContractTests), typeof(UdpSocketTests)];

    private static readonly Lazy<Task<Dictionary<(string Class, string Method), (string Result, string Message)>>> Run = new(RunUnderWineAsync);

    /// <summary>Every case of <paramref name="type"/> (inherited ones included), by method name.</summary>
    public static TheoryData<string> CasesOf(Type type) => new(
        type.GetMethods(BindingFlags.Instance | BindingFlags.Public)
            .Where(m => m.IsDefined(typeof(FactAttribute), inherit: true))
            .Select(m => m.Name)
            .Order(StringComparer.Ordinal));

    /// <summary>Skips where Wine cannot run; otherwise asserts that case <paramref name="name"/> of <paramref name="type"/> passed under Wine.</summary>
    public static async Task AssertPassedAsync(Type type, string name)
    {
        TestSupport.Skips.When(TestSupport.WineHost.SkipReason);

        var results = await Run.Value;
        results.Should().ContainKey((type.FullName!, name), "the Windows run reports every case of the class");
        var (result, message) = results[(type.FullName!, name)];
        Assert.SkipWhen(result == "Skip", $"skipped under Wine: {message}");
        result.Should().Be("Pass", $"{type.Name}.{name} under Wine: {message}");
    }

    // Publishes (cached), runs the classes under Wine, and reads xunit's result XML.
    private static async Task<Dictionary<(string Class, string Method), (string Result, string Message)>> RunUnderWineAsync()
    {
        var root = TestSupport.LibkqueueBuild.RepoRoot();
        var exe = await WindowsTestBuild.PublishAsync(root);
        var xml = Path.Combine(Path.GetDirectoryName(exe)!, $"wine-run-{Environment.ProcessId}.xml");
        File.Delete(xml);
        string[] classes = [.. Classes.SelectMany(c => (string[])["-class", c.FullName!])];
        await using var run = await TestSupport.WineHost.RunToExitAsync(
            root, exe, [.. classes, "-noColor", "-noLogo", "-result-xml", TestSupport.WineHost.WindowsPath(xml)], Patience.WineRun);
        if (!File.Exists(xml))
        {
            throw new InvalidOperationException($"the win-x64 tests wrote no results under Wine (exit {run.ExitCode}):\n{run.Output}");
        }

        var names = Classes.Select(c => c.FullName!).ToHashSet();
        var results = XDocument.Load(xml).Descendants("test")
            .Where(t => names.Contains((string?)t.Attribute("type") ?? string.Empty))
            .ToDictionary(
                t => ((string)t.Attribute("type")!, (string)t.Attribute("method")!),
                t => ((string)t.Attribute("result")!, t.Element("failure")?.Element("message")?.Value ?? t.Element("reason")?.Value ?? string.Empty));
        File.Delete(xml);
        return results;
    }
}
