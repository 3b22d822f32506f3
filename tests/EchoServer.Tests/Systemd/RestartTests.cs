using System.Net;
using System.Net.Sockets;
using System.Text;
using FluentAssertions;

namespace EchoServer.Tests.Systemd;

/// <summary>
/// A restart that refuses no one: the listening socket stays with the service manager (socket activation),
/// so while one server drains and exits and the next one starts, clients wait in the kernel's queue instead
/// of being refused. Here <c>systemd-socket-activate</c> makes the socket and execs a small bash supervisor
/// that holds it and restarts the server as <c>systemctl restart</c> does: SIGTERM, wait for the exit,
/// start the next with the same socket. Clients connect in a tight loop throughout.
/// </summary>
public sealed class RestartTests
{
    // $0 is the server, "$@" its arguments; fd 3 is the listening socket. Each server gets LISTEN_PID=its own pid.
    private const string Supervisor = """
        server=$0
        start() {
          ( LISTEN_PID=$BASHPID; export LISTEN_PID; exec "$server" "$@" ) &
          current=$!
          echo "supervisor: started $current"
        }
        stop() {
          kill -TERM "$current"; wait "$current"; echo "supervisor: $current exited $?"
        }
        start "$@"
        while read -r command; do
          if [ "$command" = restart ]; then stop; start "$@"; fi
        done
        stop
        """;

    public RestartTests()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "systemd's variables are not read on Windows");
    }

    private const int Workers = 4;
    private const int EchoesPerPhase = 150;

    [Fact]
    public async Task Clients_connecting_in_a_tight_loop_through_a_restart_see_no_refusal_no_reset_and_every_echo()
    {
        var bash = SystemdTools.Find("bash");
        Assert.SkipWhen(bash is null, "bash is not installed");
        var (supervisor, port) = await SystemdTools.StartActivatorAsync(port => SystemdTools.ActivateArgs(
            [$"127.0.0.1:{port}"], "echo", datagram: false, null, bash!, "-c", Supervisor, ServerProcess.ServerPath));
        var churn = new Churn(new IPEndPoint(IPAddress.Loopback, port));
        await using (supervisor)
        {
            try
            {
                churn.Start(Workers); // the first connection makes the tool exec the supervisor
                await supervisor.WaitUntilListeningAsync();
                await Wait.UntilAsync(() => churn.Verified >= EchoesPerPhase, Patience.Scenario, "echoes from the first server", Details);

                churn.ResetWaits(); // the clients that waited for the first server to start do not count
                await supervisor.Input.WriteLineAsync("restart");
                await supervisor.Input.FlushAsync(TestContext.Current.CancellationToken);
                await Wait.UntilAsync(() => supervisor.ListeningAddresses.Count >= 2, Patience.Scenario, "the second server listens", Details);
                var atSecond = churn.Verified;
                await Wait.UntilAsync(() => churn.Verified >= atSecond + EchoesPerPhase, Patience.Scenario, "echoes from the second server", Details);
                await churn.StopAsync();

                supervisor.Input.Close(); // the supervisor stops the second server and exits
                await supervisor.WaitForExitAsync(Patience.Scenario);

                var served = supervisor.StdoutLines.Select(l => StatsLineServed(l)).Where(n => n >= 0).ToList();
                var summary = $"restart under load: {Workers} clients, connections attempted={churn.Attempted} refused={churn.Refused} "
                    + $"reset={churn.Reset} closed_early={churn.ClosedEarly} other_errors={churn.Other} echoes_verified={churn.Verified}"
                    + $"; longest wait for an echo after the switch began={churn.LongestMs} ms, {churn.Waited} connection(s) waited over {Churn.WaitedMs} ms "
                    + $"(queued while no server accepted); served by the first server={served.ElementAtOrDefault(0)}, "
                    + $"by the second={served.ElementAtOrDefault(1)}";
                TestContext.Current.TestOutputHelper?.WriteLine(summary);
                Console.WriteLine(summary);

                churn.Refused.Should().Be(0, Details());
                churn.Reset.Should().Be(0, Details());
                churn.ClosedEarly.Should().Be(0, Details());
                churn.Other.Should().Be(0, Details());
                churn.Verified.Should().Be(churn.Attempted, "every connection gets its echo");
                churn.Waited.Should().BeGreaterThan(0, "clients kept connecting while one server stopped and the next started, and waited in the queue");
                served.Should().HaveCount(2, Details()).And.OnlyContain(n => n > 0);
                served.Sum().Should().Be(churn.Attempted, "every connection was served by exactly one of the two servers");
            }
            finally
            {
                await churn.StopAsync();
                KillLeftovers(supervisor);
            }
        }

        string Details() => $"{churn}\n{supervisor.Output}";
    }

    // "stopped: 123 connections served, …": the connections one server generation served.
    private static long StatsLineServed(string line)
    {
        const string marker = "stopped: ";
        var at = line.IndexOf(marker, StringComparison.Ordinal);
        return at < 0 ? -1 : long.Parse(line[(at + marker.Length)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    // Server generations the supervisor started are its children; if it died first, end them by PID.
    private static void KillLeftovers(ServerProcess supervisor)
    {
        foreach (var line in supervisor.StdoutLines.Where(l => l.StartsWith("supervisor: started ", StringComparison.Ordinal)))
        {
            var pid = int.Parse(line["supervisor: started ".Length..], System.Globalization.CultureInfo.InvariantCulture);
            if (!supervisor.StdoutLines.Any(l => l.StartsWith($"supervisor: {pid} exited", StringComparison.Ordinal)))
            {
                _ = NativeSignals.Kill(pid, 9);
            }
        }
    }

    /// <summary>
    /// Clients on dedicated threads with blocking sockets: connect, send one message at once (no thread-pool hop
    /// between connect and send), read its echo, close; again. Every outcome is counted.
    /// </summary>
    private sealed class Churn(IPEndPoint target)
    {
        private readonly List<Thread> _threads = [];
        private readonly List<string> _errors = [];
        private volatile bool _stop;
        private long _attempted;
        private long _refused;
        private long _reset;
        private long _closedEarly;
        private long _other;
        private long _verified;
        private long _waited;
        private long _longestMs;

        /// <summary>A round trip this long means the connection waited in the queue (a loopback echo takes well under 1 ms).</summary>
        public const int WaitedMs = 50;

        public long Attempted => Interlocked.Read(ref _attempted);

        public long Refused => Interlocked.Read(ref _refused);

        public long Reset => Interlocked.Read(ref _reset);

        public long ClosedEarly => Interlocked.Read(ref _closedEarly);

        public long Other => Interlocked.Read(ref _other);

        public long Verified => Interlocked.Read(ref _verified);

        public long Waited => Interlocked.Read(ref _waited);

        public long LongestMs => Interlocked.Read(ref _longestMs);

        public void ResetWaits()
        {
            Interlocked.Exchange(ref _waited, 0);
            Interlocked.Exchange(ref _longestMs, 0);
        }

        public void Start(int workers)
        {
            for (var w = 0; w < workers; w++)
            {
                var worker = w;
                var thread = new Thread(() => Run(worker)) { IsBackground = true, Name = $"churn-{worker}" };
                _threads.Add(thread);
                thread.Start();
            }
        }

        public async Task StopAsync()
        {
            _stop = true;
            foreach (var thread in _threads)
            {
                await Task.Run(() => thread.Join(Patience.Bulk));
            }
        }

        private void Run(int worker)
        {
            var buffer = new byte[256];
            for (var i = 0; !_stop; i++)
            {
                var message = Encoding.ASCII.GetBytes($"client {worker} message {i} {Guid.NewGuid():N}\n");
                Interlocked.Increment(ref _attempted);
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                    {
                        NoDelay = true,
                        ReceiveTimeout = (int)Patience.Bulk.TotalMilliseconds,
                        SendTimeout = (int)Patience.Bulk.TotalMilliseconds,
                    };
                    socket.Connect(target);
                    socket.Send(message);
                    var read = 0;
                    while (read < message.Length)
                    {
                        var n = socket.Receive(buffer, read, message.Length - read, SocketFlags.None);
                        if (n == 0)
                        {
                            throw new EndOfStreamException($"EOF after {read} of {message.Length} bytes");
                        }

                        read += n;
                    }

                    if (!buffer.AsSpan(0, read).SequenceEqual(message))
                    {
                        throw new InvalidDataException($"echo differs: '{Encoding.ASCII.GetString(buffer, 0, read)}'");
                    }

                    Interlocked.Increment(ref _verified);
                    var ms = clock.ElapsedMilliseconds;
                    if (ms >= WaitedMs)
                    {
                        Interlocked.Increment(ref _waited);
                    }

                    long longest;
                    while (ms > (longest = Interlocked.Read(ref _longestMs)) && Interlocked.CompareExchange(ref _longestMs, ms, longest) != longest)
                    {
                    }
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
                {
                    Count(ref _refused, e);
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
                {
                    Count(ref _reset, e);
                }
                catch (EndOfStreamException e)
                {
                    Count(ref _closedEarly, e);
                }
                catch (Exception e) when (e is SocketException or InvalidDataException or IOException)
                {
                    Count(ref _other, e);
                }
            }
        }

        private void Count(ref long counter, Exception e)
        {
            Interlocked.Increment(ref counter);
            lock (_errors)
            {
                if (_errors.Count < 10)
                {
                    _errors.Add($"{e.GetType().Name}: {e.Message}");
                }
            }
        }

        public override string ToString()
        {
            lock (_errors)
            {
                return $"attempted={Attempted} refused={Refused} reset={Reset} closed_early={ClosedEarly} other={Other} verified={Verified}"
                    + (_errors.Count > 0 ? "\nfirst errors:\n" + string.Join('\n', _errors) : string.Empty);
            }
        }
    }
}
