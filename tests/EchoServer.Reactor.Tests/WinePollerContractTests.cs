using System.Reflection;
using System.Xml.Linq;
using EchoServer.Reactor.Tests.Support;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The poller contract against the Windows backend, run from Linux: this test project published for win-x64
/// (<see cref="WindowsTestBuild"/>) runs <see cref="AfdPollerContractTests"/> under Wine once, and each of its cases is
/// reported here as a case of its own, so the count shows in this run. Skips with the reason where Wine cannot run.
/// </summary>
public sealed class WinePollerContractTests
{
    private const string ContractClass = "EchoServer.Reactor.Tests.AfdPollerContractTests";

    private static readonly Lazy<Task<Dictionary<string, (string Result, string Message)>>> Run = new(RunUnderWineAsync);

    /// <summary>Every case of the AFD contract class (inherited ones included), by method name.</summary>
    public static TheoryData<string> Cases => new(
        typeof(AfdPollerContractTests).GetMethods(BindingFlags.Instance | BindingFlags.Public)
            .Where(m => m.IsDefined(typeof(FactAttribute), inherit: true))
            .Select(m => m.Name)
            .Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Case_passes_on_the_afd_backend_under_Wine(string name)
    {
        var skip = TestSupport.WineHost.SkipReason;
        Assert.SkipWhen(skip is not null, skip ?? string.Empty);

        var results = await Run.Value;
        results.Should().ContainKey(name, "the Windows run reports every case of the contract");
        var (result, message) = results[name];
        result.Should().Be("Pass", $"{name} under Wine: {message}");
    }

    // Publishes (cached), runs the contract class under Wine, and reads xunit's result XML.
    private static async Task<Dictionary<string, (string Result, string Message)>> RunUnderWineAsync()
    {
        var root = TestSupport.LibkqueueBuild.RepoRoot();
        var exe = await WindowsTestBuild.PublishAsync(root);
        var xml = Path.Combine(Path.GetDirectoryName(exe)!, $"afd-contract-{Environment.ProcessId}.xml");
        File.Delete(xml);
        await using var run = await TestSupport.WineHost.RunToExitAsync(
            root, exe, ["-class", ContractClass, "-noColor", "-noLogo", "-result-xml", TestSupport.WineHost.WindowsPath(xml)], Patience.WineRun);
        if (!File.Exists(xml))
        {
            throw new InvalidOperationException($"the win-x64 tests wrote no results under Wine (exit {run.ExitCode}):\n{run.Output}");
        }

        var results = XDocument.Load(xml).Descendants("test")
            .Where(t => ((string?)t.Attribute("type")) == ContractClass)
            .ToDictionary(
                t => (string)t.Attribute("method")!,
                t => ((string)t.Attribute("result")!, t.Element("failure")?.Element("message")?.Value ?? t.Element("reason")?.Value ?? string.Empty));
        File.Delete(xml);
        return results;
    }
}
