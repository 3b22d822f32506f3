using System.Text;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FluentAssertions;

namespace EchoServer.Reactor.Tests;

/// <summary>
/// The architecture rules of docs/design.md ("Map of the code"): the library's layers (Interop &lt; Pollers &lt; Reactor &lt; Net, one
/// folder each) reference nothing above them; only src/EchoServer.Reactor/Interop and /Pollers hold unsafe
/// code; and the library depends on no runtime package (no logging, no CLI).
/// </summary>
public sealed partial class LayeringTests
{
    private static readonly string[] UnsafeAllowed =
    [
        Path.Combine("src", "EchoServer.Reactor", "Interop") + Path.DirectorySeparatorChar,
        Path.Combine("src", "EchoServer.Reactor", "Pollers") + Path.DirectorySeparatorChar,
    ];

    /// <summary>The library's layers, lowest first: a folder of src/EchoServer.Reactor each.</summary>
    internal static readonly string[] Layers = ["Interop", "Pollers", "Reactor", "Net"];

    [Fact]
    public void No_layer_references_a_layer_above_it()
    {
        var library = Path.Combine(RepoRoot(), "src", "EchoServer.Reactor");
        var files = SourceFiles(library)
            .Select(f => (Layer: Path.GetRelativePath(library, f).Split(Path.DirectorySeparatorChar)[0], Path: Path.GetRelativePath(library, f), Source: File.ReadAllText(f)))
            .ToList();

        files.Should().NotBeEmpty();
        files.Where(f => !Layers.Contains(f.Layer)).Select(f => f.Path).Should().BeEmpty("every library file belongs to a layer folder");
        files.Should().Contain(f => f.Layer == "Interop" && f.Path.EndsWith("Errno.cs", StringComparison.Ordinal), "Errno sits in the lowest layer it needs");
        LayerViolations(files).Should().BeEmpty();
    }

    [Fact]
    public void Interop_and_the_backends_are_internal()
    {
        var exported = typeof(EventLoop).Assembly.GetExportedTypes();
        exported.Should().Contain(typeof(Errno), "errors are public, in the root namespace");
        exported.Where(t => t.Namespace == "EchoServer.Reactor.Interop").Should().BeEmpty();
        exported.Select(t => t.Name).Should().NotContain(["EpollPoller", "KqueuePoller"], "backends are reached through PollerFactory");
    }

    [Theory]
    [InlineData("Interop", "internal struct KEvent { public static KEvent Create(Pollers.Token token) => default; }", "Token (Pollers)")]
    [InlineData("Interop", "using EchoServer.Reactor.Pollers;\nclass A { }", "namespace EchoServer.Reactor.Pollers")]
    [InlineData("Pollers", "class P { EventLoop? _loop; }", "EventLoop (Reactor)")]
    [InlineData("Reactor", "class L { void M() => TcpListener.Bind(null!); }", "TcpListener (Net)")]
    public void The_layer_check_finds_a_reference_upwards(string layer, string code, string expected)
    {
        var files = new List<(string Layer, string Path, string Source)>
        {
            (layer, "Probe.cs", code),
            ("Pollers", "Token.cs", "public readonly record struct Token(ulong Value);"),
            ("Reactor", "EventLoop.cs", "public sealed class EventLoop { }"),
            ("Net", "TcpListener.cs", "public sealed class TcpListener { }"),
        };

        LayerViolations(files).Should().Contain(v => v.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void The_layer_check_allows_references_downwards_and_ignores_comments()
    {
        var files = new List<(string Layer, string Path, string Source)>
        {
            ("Interop", "Errno.cs", "namespace EchoServer.Reactor; public readonly record struct Errno(int Value);"),
            ("Pollers", "Token.cs", "/// <summary>An <see cref=\"EventLoop\"/> packs it.</summary>\npublic readonly record struct Token(ulong Value) { Errno E; }"),
            ("Reactor", "EventLoop.cs", "public sealed class EventLoop { Token T; Errno E; }"),
        };

        LayerViolations(files).Should().BeEmpty();
    }

    /// <summary>
    /// Each reference from a file to a type declared in a higher layer's folder, or to a higher layer's namespace.
    /// A type's layer is the folder of the file that declares it, not its namespace: Errno lives in the root
    /// namespace but in Interop/, since it reads Interop's errno table. Comments and literals do not count.
    /// </summary>
    internal static List<string> LayerViolations(IReadOnlyList<(string Layer, string Path, string Source)> files)
    {
        var code = files.Select(f => (f.Layer, f.Path, Code: StripCommentsAndLiterals(f.Source))).ToList();
        var layerOfType = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (layer, _, text) in code)
        {
            foreach (Match m in TypeDeclaration().Matches(text))
            {
                var name = m.Groups["name"].Value;
                var rank = Array.IndexOf(Layers, layer);
                layerOfType[name] = layerOfType.TryGetValue(name, out var known) ? Math.Min(known, rank) : rank;
            }
        }

        var violations = new List<string>();
        foreach (var (layer, path, text) in code)
        {
            var rank = Array.IndexOf(Layers, layer);
            foreach (var above in Layers.Skip(rank + 1).Where(l => l != "Reactor"))
            {
                if (Regex.IsMatch(text, $@"\bEchoServer\.Reactor\.{above}\b|\busing\s+{above}\b|(?<![\w.]){above}\s*\."))
                {
                    violations.Add($"{path}: namespace EchoServer.Reactor.{above}");
                }
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (Match m in Identifier().Matches(text))
            {
                if (layerOfType.TryGetValue(m.Value, out var typeRank) && typeRank > rank && seen.Add(m.Value))
                {
                    violations.Add($"{path}: {m.Value} ({Layers[typeRank]})");
                }
            }
        }

        return violations;
    }

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

    /// <summary>
    /// No runtime package: a user who takes the library takes nothing else. A build-time analyzer is allowed only as
    /// <c>PrivateAssets="all"</c> (Microsoft.CodeAnalysis.PublicApiAnalyzers), which keeps it out of the library's
    /// package dependencies; and the compiled library references framework assemblies only.
    /// </summary>
    [Fact]
    public void The_library_references_no_package()
    {
        var root = RepoRoot();
        var project = XDocument.Load(Path.Combine(root, "src", "EchoServer.Reactor", "EchoServer.Reactor.csproj"));
        project.Descendants().Where(e => e.Name.LocalName == "PackageReference" && !IsPrivateToTheBuild(e))
            .Select(e => (string?)e.Attribute("Include")).Should().BeEmpty("only build-time analyzers with PrivateAssets=\"all\" may be referenced");
        typeof(EventLoop).Assembly.GetReferencedAssemblies().Select(a => a.Name)
            .Where(n => n is null || !(n.StartsWith("System", StringComparison.Ordinal) || n is "netstandard" or "mscorlib"))
            .Should().BeEmpty("the compiled library needs nothing beyond the framework");

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
    [InlineData("<PackageReference Include=\"A\" PrivateAssets=\"all\" />", true)]
    [InlineData("<PackageReference Include=\"A\"><PrivateAssets>All</PrivateAssets></PackageReference>", true)]
    [InlineData("<PackageReference Include=\"A\" />", false)]
    [InlineData("<PackageReference Include=\"A\" PrivateAssets=\"analyzers\" />", false)]
    public void Only_a_reference_private_to_the_build_counts_as_analyzer_only(string xml, bool expected)
    {
        IsPrivateToTheBuild(XElement.Parse(xml)).Should().Be(expected);
    }

    private static bool IsPrivateToTheBuild(XElement reference)
    {
        var privateAssets = (string?)reference.Attribute("PrivateAssets")
            ?? reference.Elements().FirstOrDefault(e => e.Name.LocalName == "PrivateAssets")?.Value;
        return string.Equals(privateAssets?.Trim(), "all", StringComparison.OrdinalIgnoreCase);
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

    [GeneratedRegex(@"\b(?:class|struct|interface|enum|record(?!\s+(?:struct|class)\b))\s+(?<name>[A-Z]\w*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"(?<![\w@])[A-Z]\w*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"\bunsafe\b")]
    private static partial Regex UnsafeKeyword();

    [GeneratedRegex(@"\bfixed\s*\(")]
    private static partial Regex FixedStatement();

    [GeneratedRegex(@"\*\s*[A-Za-z_]\w*\s*=\s*stackalloc\b|\(\s*\w+\s*\*\s*\)\s*stackalloc\b")]
    private static partial Regex PointerStackalloc();
}
