using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace EchoBench.Tests;

/// <summary>One real <c>echoserver --bind 127.0.0.1:0</c> for a test class (the shared <see cref="ServerProcess"/>).</summary>
public sealed class EchoServerFixture : IAsyncLifetime
{
    private ServerProcess? _server;

    /// <summary>The server's address, as echobench's --target takes it.</summary>
    public string Target => $"127.0.0.1:{_server!.Port}";

    public async ValueTask InitializeAsync() => _server = await ServerProcess.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>Runs the built <c>echobench</c> to exit (bounded), through the shared launcher.</summary>
internal static class EchoBenchBinary
{
    public static async Task<(int ExitCode, string StdOut, string StdErr)> RunAsync(params string[] args)
    {
        await using var bench = await ServerProcess.RunToExitAsync(ServerProcess.BenchPath, args, environment: null, Patience.Scenario);
        return (bench.ExitCode, bench.Stdout, bench.Stderr);
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
