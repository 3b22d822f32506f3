using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FluentAssertions;

namespace EchoBench.Tests;

/// <summary>
/// The packages as .NET users get them: <c>dotnet pack</c> at the root (of a copy of the sources, so the test run's
/// own build outputs are never touched) into a temporary folder, then <c>dotnet tool install --tool-path … --add-source
/// &lt;folder&gt;</c> of each tool, and the README's discard server built as a separate project against the
/// EchoServer.Reactor package. Heavy (a Release build, ~40 s on 2 cores): its collection runs alone.
/// </summary>
[Collection(nameof(PackagingGroup))]
public sealed partial class PackagingTests(PackedFeed feed)
{
    private static readonly string[] PackageIds = ["EchoServer.Reactor", "echoserver", "echobench"];

    [Fact]
    public void Pack_makes_the_library_and_the_two_tools_with_symbols_and_nothing_else()
    {
        var packages = feed.Require();

        Directory.GetFiles(packages.Folder).Select(Path.GetFileName).Should().BeEquivalentTo(
            [.. PackageIds.SelectMany(id => (string[])[$"{id}.{packages.Version}.nupkg", $"{id}.{packages.Version}.snupkg"])],
            "test projects are not packable");

        using var library = ZipFile.OpenRead(packages.Path("EchoServer.Reactor"));
        library.Entries.Select(e => e.FullName).Should().Contain(["lib/net10.0/EchoServer.Reactor.dll", "lib/net10.0/EchoServer.Reactor.xml", "README.md"]);
        var nuspec = Nuspec(library);
        nuspec.Element("license")!.Attribute("type")!.Value.Should().Be("expression");
        nuspec.Element("license")!.Value.Should().Be("MIT");
        nuspec.Element("readme")!.Value.Should().Be("README.md");
        nuspec.Element("description")!.Value.Should().NotBeNullOrWhiteSpace();
        nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Should().BeEmpty("the library depends on nothing");

        foreach (var tool in (string[])["echoserver", "echobench"])
        {
            using var package = ZipFile.OpenRead(packages.Path(tool));
            var types = Nuspec(package).Descendants().Where(e => e.Name.LocalName == "packageType").Select(e => e.Attribute("name")!.Value);
            types.Should().Equal(["DotnetTool"], tool + " is a .NET tool");
            package.Entries.Select(e => e.FullName).Should().Contain($"tools/net10.0/any/{tool}.dll");
        }
    }

    [Fact]
    public async Task The_installed_tools_echo_over_loopback_echobench_driving_echoserver()
    {
        var packages = feed.Require();
        var tools = Path.Combine(packages.Scratch, "tools");
        foreach (var tool in (string[])["echoserver", "echobench"])
        {
            await packages.DotnetAsync(Patience.Build, "tool", "install", "--tool-path", tools, "--add-source", packages.Folder, tool, "--version", packages.Version);
        }

        await using var server = await ServerProcess.StartAsync(Path.Combine(tools, "echoserver"), ["--bind", "127.0.0.1:0"]);
        await using var bench = await ServerProcess.RunToExitAsync(Path.Combine(tools, "echobench"),
            ["--target", $"127.0.0.1:{server.Port}", "--conns", "2", "--duration", "1s", "--warmup", "0"], environment: null, Patience.Scenario);

        bench.ExitCode.Should().Be(0, bench.Output);
        var result = BenchResult.Parse(bench.Stdout);
        result.Count("errors").Should().Be(0);
        result.Count("msgs").Should().BePositive();
    }

    [Fact]
    public async Task The_readme_discard_server_builds_and_runs_against_the_library_package()
    {
        var packages = feed.Require();
        var project = Directory.CreateDirectory(Path.Combine(packages.Scratch, "discard")).FullName;
        var port = FreePort();
        var code = ReadmeLibraryExample();
        LoopbackPort().IsMatch(code).Should().BeTrue("the README example listens on IPAddress.Loopback and a port:\n" + code);
        var cancel = TestContext.Current.CancellationToken;
        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), LoopbackPort().Replace(code, $"${{prefix}}{port}"), cancel);
        await File.WriteAllTextAsync(Path.Combine(project, "discard.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="EchoServer.Reactor" Version="[{packages.Version}]" />
              </ItemGroup>
            </Project>
            """, cancel);

        // The local folder beside whatever sources this machine (or CI's) already uses: no <clear/>.
        await File.WriteAllTextAsync(Path.Combine(project, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="echoserver-packed" value="{packages.Folder}" />
              </packageSources>
            </configuration>
            """, cancel);

        await packages.DotnetAsync(Patience.Build, "build", project, "-c", "Release", "-o", Path.Combine(project, "out"));

        await using var discard = ServerProcess.Start(Path.Combine(project, "out", "discard"), []);
        using var client = await ConnectAsync(port, discard);
        var payload = new byte[1 << 20];
        Random.Shared.NextBytes(payload);
        var stream = client.GetStream();
        await stream.WriteAsync(payload, cancel);
        client.Client.Shutdown(SocketShutdown.Send);

        // A discard server reads everything, sends nothing and closes after the client's end of stream.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(Patience.Bulk);
        var read = await stream.ReadAsync(new byte[16], timeout.Token);
        read.Should().Be(0, "the discard server sends nothing back and closes at end of stream");
        discard.HasExited.Should().BeFalse("the server keeps running after a client leaves.\n" + discard.Output);
    }

    private static XElement Nuspec(ZipArchive package)
    {
        var entry = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = entry.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return new XElement("metadata", metadata.Elements().Select(e => StripNamespace(e)));
    }

    private static XElement StripNamespace(XElement e) =>
        new(e.Name.LocalName, e.Attributes().Where(a => !a.IsNamespaceDeclaration), e.Nodes().Select(n => n is XElement c ? StripNamespace(c) : n));

    /// <summary>The first C# block of the README's "Using the library" section, as a user would copy it.</summary>
    private static string ReadmeLibraryExample()
    {
        var readme = File.ReadAllText(Path.Combine(PackedFeed.RepositoryRoot!, "README.md"));
        var section = readme.IndexOf("## Using the library", StringComparison.Ordinal);
        section.Should().BeGreaterThan(0, "README.md has a 'Using the library' section");
        var match = CSharpBlock().Match(readme, section);
        match.Success.Should().BeTrue("that section has a ```csharp block");
        return match.Groups["code"].Value;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Connects once the example listens (it logs nothing, so the wait is for the port), bounded.</summary>
    private static async Task<TcpClient> ConnectAsync(int port, ServerProcess server)
    {
        TcpClient? client = null;
        await Wait.UntilAsync(
            () => server.HasExited || (client = TryConnect(port)) is not null,
            Patience.Scenario,
            $"the discard example listens on {port}",
            () => server.Output);
        return client ?? throw new InvalidOperationException($"the discard example exited before listening on {port}.\n{server.Output}");
    }

    // A loopback connect is refused at once while nothing listens, so the synchronous attempt does not stall the wait.
    private static TcpClient? TryConnect(int port)
    {
        var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return client;
        }
        catch (SocketException)
        {
            client.Dispose();
            return null;
        }
    }

    [GeneratedRegex(@"```csharp\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();

    [GeneratedRegex(@"(?<prefix>IPAddress\.Loopback,\s*)\d+")]
    private static partial Regex LoopbackPort();
}

/// <summary>The packaging tests run alone: packing is a Release build of the whole solution on a 2-core machine.</summary>
[CollectionDefinition(nameof(PackagingGroup), DisableParallelization = true)]
public sealed class PackagingGroup : ICollectionFixture<PackedFeed>;

/// <summary>
/// <c>dotnet pack</c> run once for the collection, at the root of a copy of the repository (without bin/, obj/, .git),
/// into a temporary folder. Where it cannot run (no repository above the tests, no <c>dotnet</c> on PATH) every test
/// skips saying why; a pack that runs and fails is a failure. Everything lives in one temporary directory, removed at the end.
/// </summary>
public sealed class PackedFeed : IAsyncLifetime
{

    private string? _skipReason;
    private Exception? _failure;

    /// <summary>The repository the tests were built from (the directory holding EchoServer.sln), or null.</summary>
    public static string? RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The version the packages get (src/Directory.Build.props).</summary>
    public string Version { get; private set; } = string.Empty;

    /// <summary>The local package folder <c>dotnet pack</c> wrote to.</summary>
    public string Folder => System.IO.Path.Combine(Scratch, "feed");

    /// <summary>The temporary directory everything goes in.</summary>
    public string Scratch { get; } = Directory.CreateTempSubdirectory("echoserver-packaging-").FullName;

    private string Dotnet { get; } = Executables.Find("dotnet") ?? "dotnet";

    /// <summary>The .nupkg of <paramref name="id"/>.</summary>
    public string Path(string id) => System.IO.Path.Combine(Folder, $"{id}.{Version}.nupkg");

    /// <summary>The packed feed, or a dynamic skip with the reason packing is impossible here.</summary>
    public PackedFeed Require()
    {
        Skips.When(_skipReason);
        if (_failure is not null)
        {
            throw new InvalidOperationException("dotnet pack failed", _failure);
        }

        return this;
    }

    public async ValueTask InitializeAsync()
    {
        if (RepositoryRoot is null)
        {
            _skipReason = $"no EchoServer.sln above {AppContext.BaseDirectory}: the sources to pack are not here";
            return;
        }

        if (Executables.Find("dotnet") is null)
        {
            _skipReason = "no 'dotnet' on PATH to pack with";
            return;
        }

        try
        {
            var props = File.ReadAllText(System.IO.Path.Combine(RepositoryRoot, "src", "Directory.Build.props"));
            Version = Regex.Match(props, "<Version>(?<v>[^<]+)</Version>").Groups["v"].Value;
            var sources = System.IO.Path.Combine(Scratch, "sources");
            CopySources(RepositoryRoot, sources);

            // The machine's package cache serves the build's own dependencies (already restored by this test run); one MSBuild
            // node, to leave the other core to the test project running beside this one.
            await DotnetAsync(Patience.Build, "pack", sources, "-c", "Release", "-o", Folder, "--disable-build-servers", "-maxCpuCount:1");
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }

    /// <summary>
    /// Runs <c>dotnet</c> with <paramref name="args"/> in the scratch directory, bounded by <paramref name="timeout"/>;
    /// throws with its output unless it exits 0. Tool installs and the example get their own package cache, so an
    /// earlier run's package of the same version in the machine's cache can never stand in for the one just packed.
    /// </summary>
    public async Task DotnetAsync(TimeSpan timeout, params string[] args)
    {
        var environment = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(name => name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)) // the test runner's MSBuild, not ours
            .ToDictionary(name => name, _ => ServerProcess.Unset);
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["MSBUILDDISABLENODEREUSE"] = "1"; // no MSBuild node outlives the test
        environment["UseSharedCompilation"] = "false"; // nor a compiler server
        if (args[0] is not "pack")
        {
            environment["NUGET_PACKAGES"] = System.IO.Path.Combine(Scratch, "packages");
        }

        await using var dotnet = await ServerProcess.RunToExitAsync(Dotnet, args, environment, timeout);
        if (dotnet.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet {string.Join(' ', args)} exited {dotnet.ExitCode}.\n{dotnet.Output}");
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            Directory.Delete(Scratch, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory.
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ValueTask.CompletedTask;
    }

    private static void CopySources(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            File.Copy(file, System.IO.Path.Combine(to, System.IO.Path.GetFileName(file)));
        }

        foreach (var directory in Directory.EnumerateDirectories(from))
        {
            var name = System.IO.Path.GetFileName(directory);
            if (name is "bin" or "obj" or ".git" or "TestResults" or "artifacts" or ".vs" or ".idea")
            {
                continue;
            }

            CopySources(directory, System.IO.Path.Combine(to, name));
        }
    }

    private static string? FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "EchoServer.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }
}
