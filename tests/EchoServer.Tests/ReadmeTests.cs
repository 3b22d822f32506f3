using System.Text.RegularExpressions;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>
/// README.md against the product: its usage block is what <c>echoserver --help</c> prints, and the relative links of
/// README.md and docs/ lead somewhere.
/// </summary>
/// <remarks>
/// The rule for the usage block: the first fenced block after the heading <c>## Usage</c> in README.md equals, line by
/// line, the part of <c>--help</c>'s standard output (stdout redirected, as here) from the line <c>Usage:</c> to the end.
/// Trailing whitespace is ignored on every line, and blank lines at the end of either side.
/// </remarks>
public sealed partial class ReadmeTests
{
    private const string UsageHeading = "## Usage";

    [Fact]
    public async Task The_usage_block_is_what_help_prints()
    {
        await using var help = await ServerProcess.RunToExitAsync("--help");
        help.ExitCode.Should().Be(0, help.Output);

        var printed = UsageSection(help.StdoutLines);
        printed.Should().NotBeEmpty("--help prints a 'Usage:' line:\n" + help.Stdout);
        var readme = UsageBlock(File.ReadAllLines(Path.Combine(RepoRoot(), "README.md")));

        var differsAt = Enumerable.Range(0, Math.Max(readme.Count, printed.Count))
            .FirstOrDefault(i => i >= readme.Count || i >= printed.Count || readme[i] != printed[i], -1);
        differsAt.Should().Be(-1,
            "README.md's block under \"{0}\" must be --help's output from 'Usage:' on; at line {1} of the block README has\n{2}\nand --help prints\n{3}\nReplace the block with:\n{4}\n",
            UsageHeading, differsAt + 1, Line(readme, differsAt), Line(printed, differsAt), string.Join('\n', printed));
    }

    [Fact]
    public void Every_relative_link_in_the_readme_and_docs_leads_to_a_file_and_heading_that_exist()
    {
        var root = RepoRoot();
        var pages = Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories)
            .Prepend(Path.Combine(root, "README.md"))
            .ToList();

        var broken = new List<string>();
        foreach (var page in pages)
        {
            foreach (Match link in OutsideFences(File.ReadAllLines(page)).SelectMany(l => MarkdownLink().Matches(l)))
            {
                var target = link.Groups["target"].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }

                var hash = target.IndexOf('#', StringComparison.Ordinal);
                var file = hash < 0 ? target : target[..hash];
                var anchor = hash < 0 ? null : target[(hash + 1)..];
                var path = file.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, file));
                var where = $"{Path.GetRelativePath(root, page)}: ({target})";
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    broken.Add(where + " names no file");
                }
                else if (anchor is not null && !(path.EndsWith(".md", StringComparison.Ordinal) && Anchors(File.ReadAllLines(path)).Contains(anchor)))
                {
                    broken.Add(where + " names no heading of that file");
                }
            }
        }

        broken.Should().BeEmpty();
    }

    [Fact]
    public void The_rules_read_what_they_are_meant_to()
    {
        string[] readme = ["# Title", "", UsageHeading, "", "```", "Usage:", "  x [options]   ", "", "```", "## Next", "```", "no", "```"];
        UsageBlock(readme).Should().Equal("Usage:", "  x [options]");
        UsageSection(["Description:", "  text", "", "Usage:", "  x [options]", "", "Options:", "  -h  Help", "", ""])
            .Should().Equal("Usage:", "  x [options]", "", "Options:", "  -h  Help");
        Anchors(["## The loop's hot path", "### `echobench` (load)", "## Native AOT vs JIT", "## Splice against c-splice: edge- versus level-triggered"])
            .Should().Equal("the-loops-hot-path", "echobench-load", "native-aot-vs-jit", "splice-against-c-splice-edge--versus-level-triggered");
    }

    private static string Line(List<string> lines, int index) => index >= 0 && index < lines.Count ? lines[index] : "(no line)";

    /// <summary>--help from the line "Usage:" to the end, without trailing whitespace or trailing blank lines.</summary>
    private static List<string> UsageSection(IEnumerable<string> helpLines)
    {
        var lines = helpLines.Select(l => l.TrimEnd()).SkipWhile(l => l != "Usage:").ToList();
        return TrimBlankEnd(lines);
    }

    /// <summary>The lines inside the first fenced block after the "## Usage" heading (and before the next heading).</summary>
    private static List<string> UsageBlock(string[] readme)
    {
        var heading = Array.FindIndex(readme, l => l.TrimEnd() == UsageHeading);
        heading.Should().BeGreaterThanOrEqualTo(0, "README.md has a \"{0}\" heading", UsageHeading);
        var open = -1;
        for (var i = heading + 1; i < readme.Length && !readme[i].StartsWith('#'); i++)
        {
            if (readme[i].StartsWith("```", StringComparison.Ordinal))
            {
                open = i;
                break;
            }
        }

        open.Should().BeGreaterThan(heading, "a fenced block (```) follows \"{0}\" before the next heading", UsageHeading);
        var close = Array.FindIndex(readme, open + 1, l => l.TrimEnd() == "```");
        close.Should().BeGreaterThan(open, "the block under \"{0}\" is closed", UsageHeading);
        return TrimBlankEnd([.. readme.Skip(open + 1).Take(close - open - 1).Select(l => l.TrimEnd())]);
    }

    private static List<string> TrimBlankEnd(List<string> lines)
    {
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }

    /// <summary>GitHub's anchors for the headings of a page: lower case, punctuation dropped, spaces as hyphens.</summary>
    private static List<string> Anchors(IEnumerable<string> page)
    {
        var anchors = new List<string>();
        var seen = new Dictionary<string, int>();
        foreach (var heading in OutsideFences(page).Select(l => Heading().Match(l)).Where(m => m.Success))
        {
            var slug = new string([.. heading.Groups["text"].Value.Trim().ToLowerInvariant()
                .Where(c => char.IsLetterOrDigit(c) || c is ' ' or '-' or '_')]).Replace(' ', '-');
            var repeat = seen.GetValueOrDefault(slug);
            seen[slug] = repeat + 1;
            anchors.Add(repeat == 0 ? slug : $"{slug}-{repeat}");
        }

        return anchors;
    }

    private static IEnumerable<string> OutsideFences(IEnumerable<string> page)
    {
        var inFence = false;
        foreach (var line in page)
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                inFence = !inFence;
            }
            else if (!inFence)
            {
                yield return line;
            }
        }
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EchoServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no folder above " + AppContext.BaseDirectory + " holds EchoServer.sln");
    }

    // [text](target) outside fenced blocks is close enough: the pages put no link syntax inside code spans.
    [GeneratedRegex(@"\]\((?<target>[^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^#{1,6}\s+(?<text>.+?)\s*#*\s*$")]
    private static partial Regex Heading();
}
