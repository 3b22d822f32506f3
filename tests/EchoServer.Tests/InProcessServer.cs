using System.Net;
using EchoServer.Echo;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;
using Microsoft.Extensions.Logging.Abstractions;

namespace EchoServer.Tests;

/// <summary>The echo service on an event loop on a background thread of the test process, for tests that read its counters.</summary>
internal sealed class InProcessServer : IDisposable
{
    private readonly Thread _thread;

    public InProcessServer(EchoOptions? options = null)
    {
        Loop = EventLoop.Create(PollerKind.Auto);
        Service = new EchoService(Loop, new EchoContext(options ?? new EchoOptions(), NullLogger.Instance, new ConnectionGate(0)));
        var listener = Reactor.Net.TcpListener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Service.AddListener(listener);
        Port = listener.LocalEndPoint.Port;
        _thread = new Thread(Loop.Run) { IsBackground = true, Name = "in-process-echo" };
        _thread.Start();
    }

    public EventLoop Loop { get; }

    public EchoService Service { get; }

    public int Port { get; }

    /// <summary>Runs <paramref name="read"/> on the loop thread and returns its result (so counters are read without races).</summary>
    public T OnLoop<T>(Func<EchoService, T> read)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Loop.Post(_ => result.SetResult(read(Service)));
        return result.Task.WaitAsync(Patience.Settle).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        Loop.Stop();
        if (_thread.Join(Patience.Settle))
        {
            Loop.Dispose();
            Service.Context.Dispose();
        }
    }
}
