using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>deploy/echoserver.socket and deploy/echoserver.service, as an operator installs them, checked by systemd-analyze verify.</summary>
public sealed class DeployUnitTests
{
    private static readonly string DeployDirectory = FindDeployDirectory();

    [Fact]
    public async Task The_units_pass_systemd_analyze_verify_without_a_warning()
    {
        var analyze = SystemdTools.Require("systemd-analyze");

        // verify checks that ExecStart's program exists and is executable: point it at the server built here.
        var directory = Directory.CreateTempSubdirectory("echoserver-units-");
        try
        {
            var service = Path.Combine(directory.FullName, "echoserver.service");
            var socket = Path.Combine(directory.FullName, "echoserver.socket");
            File.Copy(Path.Combine(DeployDirectory, "echoserver.socket"), socket);
            var text = await File.ReadAllTextAsync(Path.Combine(DeployDirectory, "echoserver.service"), TestContext.Current.CancellationToken);
            text.Should().Contain("ExecStart=/usr/local/bin/echoserver ");
            await File.WriteAllTextAsync(service, text.Replace("/usr/local/bin/echoserver", ServerProcess.ServerPath, StringComparison.Ordinal),
                TestContext.Current.CancellationToken);

            await using var verify = ServerProcess.Start(analyze, ["verify", socket, service]);
            await verify.WaitForExitAsync(Patience.Scenario);

            verify.ExitCode.Should().Be(0, verify.Output);
            verify.StderrLines.Concat(verify.StdoutLines).Where(l => l.Contains("echoserver", StringComparison.Ordinal))
                .Should().BeEmpty("systemd-analyze has nothing to say about our units (an unknown key is a warning, not an error)");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_units_activate_by_socket_notify_readiness_run_a_watchdog_and_sandbox_the_server()
    {
        var socket = File.ReadAllLines(Path.Combine(DeployDirectory, "echoserver.socket"));
        var service = File.ReadAllLines(Path.Combine(DeployDirectory, "echoserver.service"));

        socket.Should().Contain(l => l.StartsWith("ListenStream=", StringComparison.Ordinal));
        service.Should().Contain("Type=notify").And.Contain("Requires=echoserver.socket").And.Contain("DynamicUser=yes")
            .And.Contain("NoNewPrivileges=yes").And.Contain("ProtectSystem=strict");
        service.Should().Contain(l => l.StartsWith("LimitNOFILE=", StringComparison.Ordinal))
            .And.Contain(l => l.StartsWith("WatchdogSec=", StringComparison.Ordinal));
        service.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal)).Should().NotContain("--bind", "the sockets come from the .socket unit");
    }

    private static string FindDeployDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "deploy");
            if (File.Exists(Path.Combine(candidate, "echoserver.service")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"no deploy/echoserver.service above {AppContext.BaseDirectory}");
    }
}
