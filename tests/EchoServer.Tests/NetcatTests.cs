using System.Diagnostics;
using EchoServer.TestSupport;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>The real netcat (Debian's netcat-openbsd) as a user would drive it.</summary>
public sealed class NetcatTests
{
    [Fact]
    public async Task Nc_gets_hello_back()
    {
        var nc = Executables.Find("nc");
        Assert.SkipWhen(nc is null, "the 'nc' command is not installed: install it with 'sudo apt-get install netcat-openbsd' (.ci/run does)");
        await using var server = await ServerProcess.StartAsync();

        var info = new ProcessStartInfo(nc!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-N", "127.0.0.1", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        try
        {
            using var cts = new CancellationTokenSource(Patience.ProcessExit);
            var stdout = process.StandardOutput.ReadToEndAsync(cts.Token);
            var stderr = process.StandardError.ReadToEndAsync(cts.Token);
            await process.StandardInput.WriteAsync("hello\n");
            process.StandardInput.Close();
            await process.WaitForExitAsync(cts.Token);

            (await stdout).Should().Be("hello\n", "nc's stderr: {0}", await stderr);
            process.ExitCode.Should().Be(0);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }
}
