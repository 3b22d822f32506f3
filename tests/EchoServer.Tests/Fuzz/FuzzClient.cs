using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace EchoServer.Tests.Fuzz;

/// <summary>
/// Plays one <see cref="ClientScript"/> against the server: a writer runs the steps in order while a reader takes the
/// echo (except while a pause holds it), and at the end checks what came back against what the client asked for.
/// </summary>
internal sealed class FuzzClient
{
    /// <summary>What <see cref="RunAsync(ClientScript, IPEndPoint, Rendezvous, CancellationToken)"/> says of a client that did
    /// all it was asked and then waited at the last step for others that never came.</summary>
    public const string WaitedForOthers = "waited at the last step for the others";

    private readonly ClientScript _script;
    private readonly byte[] _received;
    private readonly TaskCompletionSource _echoComplete = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _resumeReadingAt; // Stopwatch ticks; the reader waits until then
    private int _receivedCount;
    private bool _arrived;

    private FuzzClient(ClientScript script)
    {
        _script = script;
        _received = new byte[script.Expected.Length + 1]; // one more: an extra byte is a failure, not an overflow
        if (script.Expected.Length == 0)
        {
            _echoComplete.SetResult();
        }
    }

    /// <summary>
    /// Runs <paramref name="script"/>: every step but the last, then (once a half-closing client has its whole echo
    /// so far) it waits at <paramref name="lastStep"/> with the others, then the last step.
    /// </summary>
    /// <returns>Null if the connection ended as the client asked, else what went wrong.</returns>
    public static async Task<string?> RunAsync(ClientScript script, IPEndPoint server, Rendezvous lastStep, CancellationToken deadline)
    {
        var client = new FuzzClient(script);
        try
        {
            return await client.RunAsync(server, lastStep, deadline);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or EndOfStreamException)
        {
            if (!client._arrived)
            {
                lastStep.Leave();
            }
            else if (e is OperationCanceledException && client._receivedCount == script.Expected.Length)
            {
                return WaitedForOthers;
            }

            return $"{e.GetType().Name}: {e.Message}; {client._receivedCount} of {script.Expected.Length} bytes came back";
        }
    }

    private async Task<string?> RunAsync(IPEndPoint server, Rendezvous lastStep, CancellationToken deadline)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (_script.SmallReceiveBuffer)
        {
            socket.ReceiveBufferSize = ClientScript.SmallReceiveBufferBytes;
        }

        await socket.ConnectAsync(server, deadline);
        using var stopReading = CancellationTokenSource.CreateLinkedTokenSource(deadline);
        var reading = ReadAsync(socket, stopReading.Token);
        await WriteAsync(socket, deadline);
        if (!_script.EndsWithReset)
        {
            await _echoComplete.Task.WaitAsync(deadline);
        }

        _arrived = true;
        await lastStep.ArriveAsync(deadline);

        if (_script.EndsWithReset)
        {
            socket.LingerState = new LingerOption(true, 0);
            await stopReading.CancelAsync();
            socket.Close();
            await reading.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return _script.Expected.AsSpan(0, _receivedCount).SequenceEqual(_received.AsSpan(0, _receivedCount))
                ? null
                : $"before the reset, the echo was not a prefix of what was sent ({_receivedCount} bytes)";
        }

        socket.Shutdown(SocketShutdown.Send);
        await reading;
        if (_receivedCount != _script.Expected.Length)
        {
            return $"the echo ended after {_receivedCount} of {_script.Expected.Length} bytes";
        }

        var firstDifference = _script.Expected.AsSpan().CommonPrefixLength(_received.AsSpan(0, _receivedCount));
        return firstDifference == _receivedCount ? null : $"the echo differs from what was sent at byte {firstDifference}";
    }

    private async Task WriteAsync(Socket socket, CancellationToken deadline)
    {
        foreach (var action in _script.Actions)
        {
            switch (action.Step)
            {
                case ClientStep.PauseReading:
                    Volatile.Write(ref _resumeReadingAt, Stopwatch.GetTimestamp() + (action.PauseMs * Stopwatch.Frequency / 1000));
                    break;
                case ClientStep.Urgent or ClientStep.UrgentBurst:
                    foreach (var b in action.Bytes)
                    {
                        await SendAsync(socket, new[] { b }, SocketFlags.OutOfBand, deadline);
                    }

                    break;
                case ClientStep.UrgentBetween:
                    await SendAsync(socket, action.Bytes.AsMemory(0, 3), SocketFlags.None, deadline);
                    await SendAsync(socket, action.Bytes.AsMemory(3, 1), SocketFlags.OutOfBand, deadline);
                    await SendAsync(socket, action.Bytes.AsMemory(4), SocketFlags.None, deadline);
                    break;
                case ClientStep.Small or ClientStep.Large:
                    await SendAsync(socket, action.Bytes, SocketFlags.None, deadline);
                    break;
            }
        }
    }

    private static async Task SendAsync(Socket socket, ReadOnlyMemory<byte> data, SocketFlags flags, CancellationToken deadline)
    {
        while (!data.IsEmpty)
        {
            var n = await socket.SendAsync(data, flags, deadline);
            data = data[n..];
        }
    }

    /// <summary>Reads the echo until end of stream (or until cancelled, for a client that resets).</summary>
    private async Task ReadAsync(Socket socket, CancellationToken cancel)
    {
        while (true)
        {
            var wait = Volatile.Read(ref _resumeReadingAt) - Stopwatch.GetTimestamp();
            if (wait > 0)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait / (double)Stopwatch.Frequency), cancel);
                continue;
            }

            var n = await socket.ReceiveAsync(_received.AsMemory(_receivedCount, Math.Min(64 * 1024, _received.Length - _receivedCount)), SocketFlags.None, cancel);
            if (n == 0)
            {
                return;
            }

            _receivedCount += n;
            if (_receivedCount == _script.Expected.Length)
            {
                _echoComplete.TrySetResult();
            }

            if (_receivedCount == _received.Length)
            {
                return; // one byte more than was sent: RunAsync reports it
            }
        }
    }
}

/// <summary>Where every client waits before its last step, so the test can watch the server with all connections open and quiet.</summary>
internal sealed class Rendezvous(int clients)
{
    private readonly TaskCompletionSource _allArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting = clients;

    /// <summary>Completes once every client has arrived (or left on failure).</summary>
    public Task AllArrived => _allArrived.Task;

    /// <summary>Arrives and waits until <see cref="Release"/>.</summary>
    public Task ArriveAsync(CancellationToken deadline)
    {
        Leave();
        return _released.Task.WaitAsync(deadline);
    }

    /// <summary>Counts a client as arrived without waiting (a client that failed before it got there).</summary>
    public void Leave()
    {
        if (Interlocked.Decrement(ref _waiting) == 0)
        {
            _allArrived.TrySetResult();
        }
    }

    public void Release() => _released.TrySetResult();
}
