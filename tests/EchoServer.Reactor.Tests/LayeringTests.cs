using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The architecture rules of README.md: only src/EchoServer.Reactor/Interop and /Pollers hold unsafe
/// code, and the library depends on no package (no logging, no CLI).
/// </summary>
public sealed partial class LayeringTests
{
    private static readonly string[] UnsafeAllowed =
    [
        Path.Combine("src", "EchoServer.Reactor", "Interop") + Path.DirectorySeparatorChar,
        Path.Combine("src", "EchoServer.Reactor", "Pollers") + Path.DirectorySeparatorChar,
    ];

    [Fact]
    public void Only_Interop_and_Pollers_contain_unsafe_code()
    {
        var root = RepoRoot();
        var files = SourceFiles(Path.Combine(root, "src")).ToList();
        files.Should().Contain(f => f.Contains("EventLoop.cs", StringComparison.Ordinal), "the scan must see the library");

        var offenders = new List<string>();
        foreach (var file in files)
        {
            var relative = Path.GetRelativePath(root, file);
            if (UnsafeAllowed.Any(a => relative.StartsWith(a, StringComparison.Ordinal)))
            {
                continue;
            }

            offenders.AddRange(UnsafeConstructs(File.ReadAllText(file)).Select(c => $"{relative}: {c}"));
        }

        offenders.Should().BeEmpty();
    }

    [Fact]
    public void The_library_references_no_package()
    {
        var root = RepoRoot();
        var project = XDocument.Load(Path.Combine(root, "src", "EchoServer.Reactor", "EchoServer.Reactor.csproj"));
        project.Descendants().Where(e => e.Name.LocalName == "PackageReference").Should().BeEmpty();

        // Nor may a Directory.Build file slip one into every project.
        foreach (var name in new[] { "Directory.Build.props", "Directory.Build.targets" })
        {
            foreach (var dir in new[] { root, Path.Combine(root, "src"), Path.Combine(root, "src", "EchoServer.Reactor") })
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    XDocument.Load(path).Descendants().Where(e => e.Name.LocalName == "PackageReference")
                        .Should().BeEmpty($"{path} applies to the library");
                }
            }
        }
    }

    [Theory]
    [InlineData("unsafe class C { }", "unsafe")]
    [InlineData("void M() { unsafe { } }", "unsafe")]
    [InlineData("fixed (byte* p = buffer) { }", "fixed (")]
    [InlineData("fixed(byte* p = buffer) { }", "fixed (")]
    [InlineData("int* p = stackalloc int[2];", "pointer stackalloc")]
    public void The_scanner_finds_unsafe_constructs(string code, string expected)
    {
        UnsafeConstructs(code).Should().Contain(expected);
    }

    [Theory]
    [InlineData("// unsafe code lives elsewhere\nclass C { }")]
    [InlineData("/* fixed (x) and unsafe */ class C { }")]
    [InlineData("/// <summary>Only Interop may be unsafe.</summary>\nclass C { }")]
    [InlineData("var s = \"unsafe fixed (\";")]
    [InlineData("var s = @\"unsafe \"\" fixed (\";")]
    [InlineData("var s = \"\"\"\n unsafe \"quoted\" \n\"\"\";")]
    [InlineData("var c = '\"'; var unsafeName = 1; Span<byte> b = stackalloc byte[8];")]
    public void The_scanner_ignores_comments_strings_identifiers_and_span_stackalloc(string code)
    {
        UnsafeConstructs(code).Should().BeEmpty();
    }

    /// <summary>The unsafe constructs in C# source, after comments and string/char literals are removed.</summary>
    internal static List<string> UnsafeConstructs(string source)
    {
        var code = StripCommentsAndLiterals(source);
        var found = new List<string>();
        if (UnsafeKeyword().IsMatch(code))
        {
            found.Add("unsafe");
        }

        if (FixedStatement().IsMatch(code))
        {
            found.Add("fixed (");
        }

        if (PointerStackalloc().IsMatch(code))
        {
            found.Add("pointer stackalloc");
        }

        return found;
    }

    private static string StripCommentsAndLiterals(string s)
    {
        var sb = new StringBuilder(s.Length);
        var i = 0;
        while (i < s.Length)
        {
            if (At(s, i, "//"))
            {
                i = s.IndexOf('\n', i) is var nl && nl < 0 ? s.Length : nl;
            }
            else if (At(s, i, "/*"))
            {
                i = s.IndexOf("*/", i + 2, StringComparison.Ordinal) is var end && end < 0 ? s.Length : end + 2;
            }
            else if (At(s, i, "\"\"\""))
            {
                // Raw string literal: ends at the next run of as many quotes.
                var quotes = 0;
                while (i + quotes < s.Length && s[i + quotes] == '"')
                {
                    quotes++;
                }

                var end = s.IndexOf(new string('"', quotes), i + quotes, StringComparison.Ordinal);
                i = end < 0 ? s.Length : end + quotes;
                sb.Append("\"\"");
            }
            else if (At(s, i, "@\"") || At(s, i, "$@\"") || At(s, i, "@$\""))
            {
                // Verbatim string: "" is an escaped quote.
                i = s.IndexOf('"', i) + 1;
                while (i < s.Length && !(s[i] == '"' && (i + 1 >= s.Length || s[i + 1] != '"')))
                {
                    i += s[i] == '"' ? 2 : 1;
                }

                i++;
                sb.Append("\"\"");
            }
            else if (s[i] is '"' or '\'')
            {
                var quote = s[i++];
                while (i < s.Length && s[i] != quote && s[i] != '\n')
                {
                    i += s[i] == '\\' ? 2 : 1;
                }

                i++;
                sb.Append(quote).Append(quote);
            }
            else
            {
                sb.Append(s[i++]);
            }
        }

        return sb.ToString();
    }

    private static bool At(string s, int i, string token) => string.CompareOrdinal(s, i, token, 0, token.Length) == 0;

    private static IEnumerable<string> SourceFiles(string dir) =>
        Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories).Where(f =>
        {
            var parts = f.Split(Path.DirectorySeparatorChar);
            return !parts.Contains("bin") && !parts.Contains("obj");
        });

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EchoServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No EchoServer.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"\bunsafe\b")]
    private static partial Regex UnsafeKeyword();

    [GeneratedRegex(@"\bfixed\s*\(")]
    private static partial Regex FixedStatement();

    [GeneratedRegex(@"\*\s*[A-Za-z_]\w*\s*=\s*stackalloc\b|\(\s*\w+\s*\*\s*\)\s*stackalloc\b")]
    private static partial Regex PointerStackalloc();
}
