using FluentAssertions;

namespace EchoBench.Tests;

/// <summary>The real <c>echobench</c> against a real <c>echoserver</c>, one server for the class.</summary>
public sealed class BenchCommandTests(EchoServerFixture server) : IClassFixture<EchoServerFixture>
{
    private static readonly string[] ResultKeys =
    [
        "mode", "conns", "size", "depth", "duration_s", "msgs", "msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us",
        "errors", "mismatched", "connect_failures", "resets", "eof", "short",
    ];

    [Theory]
    [InlineData("pingpong")]
    [InlineData("pipeline")]
    [InlineData("bulk")]
    [InlineData("idle")]
    public async Task Every_mode_against_the_real_server_ends_with_a_clean_RESULT_line(string mode)
    {
        var (exitCode, stdout, stderr) = await EchoBenchBinary.RunAsync("--target", server.Target, "--mode", mode, "--conns", "4", "--duration", "1s");

        exitCode.Should().Be(0, $"stdout: {stdout}\nstderr: {stderr}");
        var result = BenchResult.Parse(stdout);
        result.Fields.Keys.Should().Equal(ResultKeys);
        result.Mode.Should().Be(mode);
        result.Count("conns").Should().Be(4);
        result.Count("depth").Should().Be(mode == "pipeline" ? 16384 : 0, "depth is the pipeline's bytes in flight, 0 where nothing is pipelined");
        result.Count("errors").Should().Be(0);
        result.Count("mismatched").Should().Be(0);
        result.Count("short").Should().Be(0);
        result.Count("msgs").Should().BePositive();
        result.Number("duration_s").Should().BeGreaterThan(0.5);
        if (mode == "bulk")
        {
            result.Number("mb_per_s").Should().BePositive();
        }
        else
        {
            result.Number("p50_us").Should().BePositive();
            result.Number("p99_us").Should().BeGreaterThanOrEqualTo(result.Number("p50_us"));
        }

        if (mode == "idle")
        {
            result.Count("msgs").Should().Be(8, "each of 4 connections does one round trip before the hold and one after");
        }
    }

    [Fact]
    public async Task A_server_that_corrupts_one_byte_is_caught_and_the_exit_code_is_1()
    {
        using var liar = new ByteFlippingEchoServer();

        var (exitCode, stdout, stderr) = await EchoBenchBinary.RunAsync("--target", liar.Target, "--mode", "pingpong", "--conns", "4", "--duration", "1", "--warmup", "0");

        exitCode.Should().Be(1, $"stdout: {stdout}\nstderr: {stderr}");
        var result = BenchResult.Parse(stdout);
        result.Count("mismatched").Should().Be(4, "byte 10 of each of the 4 streams was flipped");
        result.Count("errors").Should().Be(4);
        stderr.Should().Contain("differ");
    }

    [Fact]
    public async Task Nothing_listening_counts_connect_failures_and_exits_1()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var (exitCode, stdout, _) = await EchoBenchBinary.RunAsync("--target", $"127.0.0.1:{port}", "--conns", "3", "--duration", "500ms");

        exitCode.Should().Be(1);
        var result = BenchResult.Parse(stdout);
        result.Count("connect_failures").Should().Be(3);
        result.Count("errors").Should().Be(3);
    }

    [Fact]
    public async Task Help_lists_the_options_and_exits_0()
    {
        var (exitCode, stdout, stderr) = await EchoBenchBinary.RunAsync("--help");

        exitCode.Should().Be(0);
        stderr.Should().BeEmpty();
        stdout.Should().Contain("--target").And.Contain("--mode").And.Contain("--conns").And.Contain("--duration <duration>")
            .And.Contain("--depth").And.Contain("--progress");
    }

    [Theory]
    [InlineData("--mode", "sideways")]
    [InlineData("--target", "127.0.0.1:0")]
    [InlineData("--target", "nowhere")]
    [InlineData("--conns", "0")]
    [InlineData("--conns", "many")]
    [InlineData("--duration", "0")]
    [InlineData("--duration", "5x")]
    [InlineData("--warmup", "-1s")]
    [InlineData("--progress", "soon")]
    [InlineData("--no-such-option", "1")]
    public async Task Bad_options_are_usage_errors_with_exit_code_2(string option, string value)
    {
        var (exitCode, stdout, stderr) = await EchoBenchBinary.RunAsync(option, value);

        exitCode.Should().Be(2, $"stderr: {stderr}");
        stdout.Should().NotContain("RESULT");
        stderr.Should().StartWith("echobench: ").And.NotContain("   at ");
    }

    [Theory]
    [InlineData("--conns", "1", "--conns")]
    [InlineData("--duration", "1s", "--target", "127.0.0.1:9", "--duration")]
    public async Task An_option_given_without_its_value_is_a_usage_error(params string[] args)
    {
        var (exitCode, stdout, stderr) = await EchoBenchBinary.RunAsync(args);

        exitCode.Should().Be(2, $"stderr: {stderr}");
        stderr.Should().Contain($"{args[^1]} needs a value");
        stdout.Should().NotContain("RESULT");
    }

    [Fact]
    public async Task The_server_command_no_longer_has_a_bench_subcommand()
    {
        await using var server = await ServerProcess.RunToExitAsync("bench", "--target", "127.0.0.1:9");

        server.ExitCode.Should().Be(2, server.Output);
        server.Stderr.Should().Contain("bench");
    }

    [Fact]
    public async Task Pipeline_depth_below_size_is_a_usage_error()
    {
        var (exitCode, _, stderr) = await EchoBenchBinary.RunAsync("--mode", "pipeline", "--size", "100", "--depth", "10");

        exitCode.Should().Be(2);
        stderr.Should().Contain("--depth");
    }
}

/// <summary>The bench's building blocks, in process.</summary>
public sealed class BenchPartsTests
{
    [Fact]
    public void Histogram_percentiles_are_within_two_percent()
    {
        var histogram = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++)
        {
            histogram.Record(v * 1000);
        }

        histogram.Count.Should().Be(100_000);
        histogram.ValueAt(0.50).Should().BeCloseTo(50_000_000, 1_000_000);
        histogram.ValueAt(0.99).Should().BeCloseTo(99_000_000, 2_000_000);
        histogram.ValueAt(0.999).Should().BeCloseTo(99_900_000, 2_000_000);
        histogram.Reset();
        histogram.ValueAt(0.5).Should().Be(0);
    }

    [Fact]
    public void Histogram_is_exact_for_small_values_and_survives_huge_ones()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(5);
        histogram.Record(-3);
        histogram.Record(long.MaxValue);

        histogram.ValueAt(0.34).Should().Be(5);
        histogram.ValueAt(0.01).Should().Be(0);
        histogram.ValueAt(1.0).Should().BeGreaterThan(1L << 61);
    }

    [Fact]
    public void Pattern_is_deterministic_and_wraps_contiguously()
    {
        var a = new BenchPattern();
        var b = new BenchPattern();
        var offset = BenchPattern.OffsetFor(7);

        a.Slice(offset, 123, 1000).ToArray().Should().Equal(b.Slice(offset, 123, 1000).ToArray());
        a.Slice(BenchPattern.OffsetFor(1), 0, 64).ToArray().Should().NotEqual(a.Slice(BenchPattern.OffsetFor(2), 0, 64).ToArray());

        // Offset L - 10 with 20 bytes spans the wrap: the last 10 bytes of the period, then its first 10.
        var across = a.Slice(0, BenchPattern.Length - 10, 20).ToArray();
        across[..10].Should().Equal(a.Slice(0, BenchPattern.Length - 10, 10).ToArray());
        across[10..].Should().Equal(a.Slice(0, 0, 10).ToArray());
        a.Slice(0, BenchPattern.Length + 5, 8).ToArray().Should().Equal(a.Slice(0, 5, 8).ToArray());
    }

    [Fact]
    public void Pattern_counts_each_differing_byte()
    {
        var pattern = new BenchPattern();
        var echoed = pattern.Slice(42, 1000, 100).ToArray();
        pattern.CountMismatches(42, 1000, echoed).Should().Be(0);

        echoed[3] ^= 1;
        echoed[99] ^= 0x80;
        pattern.CountMismatches(42, 1000, echoed).Should().Be(2);
        pattern.CountMismatches(42, 1001, pattern.Slice(42, 1000, 100)).Should().BeGreaterThan(90);
    }

    [Theory]
    [InlineData("127.0.0.1:9000", true)]
    [InlineData("[::1]:7", true)]
    [InlineData("localhost:9000", true)]
    [InlineData("10.1.2.3:7", true)]
    [InlineData("127.0.0.1:0", false)]
    [InlineData("127.0.0.1", false)]
    public void Targets_parse_like_bind_addresses_but_need_a_port(string text, bool ok)
    {
        Target.TryParse(text, out _, out var error).Should().Be(ok, error);
    }
}
