using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace EchoServer.Tests;

/// <summary>Runs the built <c>echoserver</c> (apphost if present, else <c>dotnet echoserver.dll</c>).</summary>
internal static partial class EchoServerBinary
{
    public static ProcessStartInfo StartInfo(params string[] args)
    {
        var apphost = Path.Combine(AppContext.BaseDirectory, "echoserver");
        ProcessStartInfo info;
        if (File.Exists(apphost))
        {
            info = new ProcessStartInfo(apphost);
        }
        else
        {
            info = new ProcessStartInfo("dotnet");
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "echoserver.dll"));
        }

        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        return info;
    }

    /// <summary>Runs <c>echoserver</c> to completion (killing it after <paramref name="timeout"/>).</summary>
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(TimeSpan timeout, params string[] args)
    {
        using var process = Process.Start(StartInfo(args)) ?? throw new InvalidOperationException("could not start echoserver");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            await process.WaitForExitAsync();
            throw new TimeoutException($"echoserver {string.Join(' ', args)} did not finish in {timeout}; stderr: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+) ")]
    public static partial Regex ListeningLine();
}

/// <summary>A real <c>echoserver --bind 127.0.0.1:0</c> process; killed by PID on dispose.</summary>
public sealed class EchoServerProcess : IDisposable
{
    private readonly Process _process;

    public EchoServerProcess()
    {
        _process = Process.Start(EchoServerBinary.StartInfo("--bind", "127.0.0.1:0"))
            ?? throw new InvalidOperationException("could not start echoserver");
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            var read = _process.StandardOutput.ReadLineAsync();
            if (!read.Wait(deadline - DateTime.UtcNow) || read.Result is null)
            {
                break;
            }

            var match = EchoServerBinary.ListeningLine().Match(read.Result);
            if (match.Success)
            {
                Port = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                // Keep draining stdout so the server never blocks on a full pipe.
                _ = _process.StandardOutput.ReadToEndAsync();
                return;
            }
        }

        Dispose();
        throw new InvalidOperationException("echoserver did not report its port");
    }

    public int Port { get; }

    public string Target => $"127.0.0.1:{Port}";

    public void Dispose()
    {
        try
        {
            using var byPid = Process.GetProcessById(_process.Id);
            byPid.Kill();
            byPid.WaitForExit(5000);
        }
        catch (ArgumentException)
        {
            // Already exited.
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        _process.Dispose();
    }
}

/// <summary>
/// A deliberately wrong echo server: echoes everything but flips byte <see cref="FlippedOffset"/>
/// of every connection's stream, so a checking client must notice.
/// </summary>
public sealed class ByteFlippingEchoServer : IDisposable
{
    public const int FlippedOffset = 10;

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public ByteFlippingEchoServer()
    {
        _listener.Start();
        _ = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Target => $"127.0.0.1:{Port}";

    private async Task AcceptLoopAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = ServeAsync(client);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var buffer = new byte[65536];
            long offset = 0;
            try
            {
                while (true)
                {
                    var n = await stream.ReadAsync(buffer, _stop.Token);
                    if (n == 0)
                    {
                        return;
                    }

                    if (offset <= FlippedOffset && FlippedOffset < offset + n)
                    {
                        buffer[FlippedOffset - offset] ^= 0xFF;
                    }

                    offset += n;
                    await stream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Dispose();
        _stop.Dispose();
    }
}

/// <summary>The fields of the bench's <c>RESULT key=value ...</c> line.</summary>
public sealed class BenchResult
{
    private readonly Dictionary<string, string> _fields;

    private BenchResult(Dictionary<string, string> fields) => _fields = fields;

    public IReadOnlyDictionary<string, string> Fields => _fields;

    public string Mode => _fields["mode"];

    public long Count(string key) => long.Parse(_fields[key], NumberStyles.Integer, CultureInfo.InvariantCulture);

    public double Number(string key) => double.Parse(_fields[key], NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Finds exactly one RESULT line in <paramref name="stdout"/> and parses it.</summary>
    public static BenchResult Parse(string stdout)
    {
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith("RESULT ", StringComparison.Ordinal))
            .ToList();
        if (lines.Count != 1)
        {
            throw new FormatException($"expected exactly one RESULT line, found {lines.Count} in: {stdout}");
        }

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new FormatException($"not key=value: '{pair}' in {lines[0]}");
            }

            fields.Add(pair[..eq], pair[(eq + 1)..]);
        }

        return new BenchResult(fields);
    }
}
