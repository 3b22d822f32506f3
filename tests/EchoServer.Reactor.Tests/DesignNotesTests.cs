using System.Text.RegularExpressions;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// Code keeps one line pointing to docs/design.md (the file name, a comma, the section name in quotes) instead of repeating the why;
/// every such pointer must name a section that exists.
/// </summary>
public sealed partial class DesignNotesTests
{
    private static readonly string[] SourceFolders = ["src", "tests"];

    [Fact]
    public void Every_pointer_into_docs_design_md_names_a_section_that_exists()
    {
        var root = LibkqueueBuild.RepoRoot();
        var headings = File.ReadAllLines(Path.Combine(root, "docs", "design.md")).Where(l => l.StartsWith("##", StringComparison.Ordinal)).ToList();
        var pointers = SourceFolders
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            .SelectMany(f => Pointers(File.ReadAllText(f)).Select(section => (File: Path.GetRelativePath(root, f), Section: section)))
            .ToList();

        pointers.Should().Contain(p => p.Section == "Descriptor headroom", "the scan must see the library's pointers");
        pointers.Where(p => MissingFrom(headings, p.Section)).Should().BeEmpty();
    }

    [Fact]
    public void A_pointer_to_a_missing_section_is_found_even_across_comment_lines()
    {
        const string code = "/// the why: docs/design.md,\n/// \"No such section\".\n// docs/design.md, \"Timers\"";
        Pointers(code).Should().Equal("No such section", "Timers");
        MissingFrom(["## Timers"], "No such section").Should().BeTrue();
        MissingFrom(["## Timers (one-shot)"], "Timers").Should().BeFalse();
    }

    private static IEnumerable<string> Pointers(string source) =>
        Pointer().Matches(source).Select(m => m.Groups["section"].Value);

    // A pointer names a heading by its start: "kqueue over libkqueue" for "## kqueue over libkqueue (running …)".
    private static bool MissingFrom(IEnumerable<string> headings, string section) =>
        !headings.Any(h => h.TrimStart('#').TrimStart().StartsWith(section, StringComparison.Ordinal));

    [GeneratedRegex(@"docs/design\.md,(?:\s|/)*""(?<section>[^""\n]+)""")]
    private static partial Regex Pointer();
}
