using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>
/// sd_notify: the real server sends READY=1, STATUS=, WATCHDOG=1 and STOPPING=1 to NOTIFY_SOCKET, here a unix
/// datagram socket that stands in for systemd and checks every message it gets.
/// </summary>
public sealed class ReadinessTests
{
    // The messages come while the server starts, or at its intervals soon after.
    private static readonly TimeSpan MessageTimeout = Patience.ProcessStart;

    public ReadinessTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "systemd's variables are not read on Windows");
    }

    /// <summary>1 and 2 reactors (pings need every reactor's heartbeat, so 2 also proves the second loop turns), on each backend.</summary>
    public static TheoryData<int, PollerKind> ReactorsAndPollers()
    {
        var data = new TheoryData<int, PollerKind>();
        foreach (var poller in ServerPollers.All())
        {
            data.Add(1, poller);
            data.Add(2, poller);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ReactorsAndPollers))]
    public async Task Ready_status_watchdog_and_stopping_reach_the_service_manager_in_order(int reactors, PollerKind poller)
    {
        var path = SystemdTools.NewSocketPath("notify");
        using var manager = new FakeServiceManager(path);
        var environment = new Dictionary<string, string>(ServerPollers.Environment(poller))
        {
            ["NOTIFY_SOCKET"] = path, ["WATCHDOG_USEC"] = "400000", ["WATCHDOG_PID"] = "",
        };
        await using var server = await ServerProcess.StartAsync(ServerProcess.ServerPath,
            [.. ServerPollers.Arguments(poller), "--bind", "127.0.0.1:0", "--reactors", reactors.ToString(CultureInfo.InvariantCulture)], environment);

        var ready = await manager.WaitForAsync(m => m.Contains("READY=1"), "READY=1");
        ready.Should().Contain("STATUS=0 connection(s) open");
        manager.Messages[0].Should().Contain("READY=1", "nothing comes before READY=1");

        using var one = await Client.ConnectAsync(server);
        using var two = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(one, "one\n");
        await Client.AssertEchoesAsync(two, "two\n");
        await manager.WaitForAsync(m => m.Contains("STATUS=2 connection(s) open, 2 served"), "a STATUS= line counting both connections");

        // Pings at half of WATCHDOG_USEC (200 ms): never early (timers do not fire early), and not far apart.
        // The first is skipped: its arrival may have waited for this test's thread, which would shorten the average.
        await Wait.UntilAsync(() => manager.Times("WATCHDOG=1").Count >= 6, MessageTimeout, "six WATCHDOG=1 pings", manager.Describe);
        var pings = manager.Times("WATCHDOG=1");
        var average = (pings[5] - pings[1]) / 4;
        average.Should().BeGreaterThan(TimeSpan.FromMilliseconds(120)).And.BeLessThan(TimeSpan.FromSeconds(2), "pings come every half of WATCHDOG_USEC");

        await server.SendSignalAsync("TERM");
        var stopping = await manager.WaitForAsync(m => m.Contains("STOPPING=1"), "STOPPING=1");
        stopping.Should().Contain("STATUS=draining: 2 connection(s) left");
        await server.WaitForExitAsync(Patience.ProcessExit);
        server.ExitCode.Should().Be(0, server.Output);
        manager.Invalid.Should().BeEmpty("every message is newline-separated KEY=VALUE lines systemd understands");
    }

    [Fact]
    public async Task An_abstract_notify_socket_works_and_a_watchdog_meant_for_another_process_is_not_pinged()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "abstract unix socket names (NOTIFY_SOCKET=@name) exist on Linux only");
        var name = $"echoserver-notify-{Guid.NewGuid():N}";
        using var manager = new FakeServiceManager("\0" + name);
        await using var server = await ServerProcess.StartAsync(ServerProcess.ServerPath, ["--bind", "127.0.0.1:0"],
            new Dictionary<string, string> { ["NOTIFY_SOCKET"] = "@" + name, ["WATCHDOG_USEC"] = "200000", ["WATCHDOG_PID"] = "1" });

        await manager.WaitForAsync(m => m.Contains("READY=1"), "READY=1");
        using var client = await Client.ConnectAsync(server);
        await Client.AssertEchoesAsync(client, "hello\n");

        // The status refresh comes a second after start: five pings' worth of time at 100 ms, had they been due.
        await manager.WaitForAsync(m => m.Contains("STATUS=1 connection(s) open"), "a STATUS= line counting the connection");
        manager.Times("WATCHDOG=1").Should().BeEmpty("WATCHDOG_PID names another process");
        server.StdoutLines.Should().Contain(l => l.EndsWith($"notifying the service manager at @{name}", StringComparison.Ordinal), server.Output);
        manager.Invalid.Should().BeEmpty();
    }

    /// <summary>A unix datagram socket in systemd's place: records each message with its arrival time and checks its form.</summary>
    private sealed class FakeServiceManager : IDisposable
    {
        private static readonly string[] Keys = ["READY", "STOPPING", "STATUS", "WATCHDOG"];

        private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        private readonly string _path;
        private readonly Lock _gate = new();
        private readonly List<(TimeSpan At, string Text)> _messages = [];
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _receiving;

        public FakeServiceManager(string path)
        {
            _path = path;
            _socket.Bind(new UnixDomainSocketEndPoint(path));
            _receiving = Task.Run(ReceiveAsync);
        }

        public List<string> Invalid { get; } = [];

        public IReadOnlyList<string> Messages
        {
            get
            {
                lock (_gate)
                {
                    return [.. _messages.Select(m => m.Text)];
                }
            }
        }

        public IReadOnlyList<TimeSpan> Times(string line)
        {
            lock (_gate)
            {
                return [.. _messages.Where(m => m.Text.Split('\n').Contains(line)).Select(m => m.At)];
            }
        }

        public async Task<string> WaitForAsync(Func<string, bool> match, string what)
        {
            string? found = null;
            await Wait.UntilAsync(() => (found = Messages.FirstOrDefault(match)) is not null, MessageTimeout, what, Describe);
            return found!;
        }

        public string Describe() => "messages:\n" + string.Join("\n--\n", Messages) + (Invalid.Count > 0 ? "\ninvalid:\n" + string.Join('\n', Invalid) : "");

        private async Task ReceiveAsync()
        {
            var buffer = new byte[4096];
            while (!_stop.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var text = Encoding.UTF8.GetString(buffer, 0, n);
                lock (_gate)
                {
                    _messages.Add((_clock.Elapsed, text));
                    foreach (var line in text.Split('\n'))
                    {
                        var equals = line.IndexOf('=', StringComparison.Ordinal);
                        var key = equals > 0 ? line[..equals] : line;
                        var value = equals > 0 ? line[(equals + 1)..] : string.Empty;
                        var valid = Keys.Contains(key) && (key == "STATUS" ? value.Length > 0 : value == "1");
                        if (!valid)
                        {
                            Invalid.Add(line);
                        }
                    }
                }
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _receiving.Wait(Patience.Short);
            _socket.Dispose();
            _stop.Dispose();
            if (!_path.StartsWith('\0'))
            {
                File.Delete(_path);
            }
        }
    }
}
