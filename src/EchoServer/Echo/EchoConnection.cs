using EchoServer.Reactor;
using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Net;
using EchoServer.Reactor.Pollers;

namespace EchoServer.Echo;

/// <summary>
/// One client (RFC 862): every byte read is written back, in order. Registered once for
/// readable and writable, edge-triggered, so the steady state makes no epoll_ctl calls.
/// </summary>
/// <remarks>
/// <para>Per wakeup: first flush what is owed, then read and echo until the kernel has no more data
/// (or the fairness budget runs out, or the connection owes more than
/// <see cref="EchoOptions.MaxPendingBytes"/>, in which case reading pauses until a writable event
/// lets the debt shrink — that is how a client that sends without reading is pushed back by TCP
/// flow control instead of by our memory).</para>
/// <para>After the client's FIN, everything still owed is sent and then the socket is closed.</para>
/// </remarks>
internal sealed class EchoConnection(TcpSocket socket, EchoContext context) : IReadinessHandler
{
    private PendingOutput _pending;
    private bool _peerFinished;

    public Token Token { get; set; }

    public void OnReady(EventLoop eventLoop, Token token, Readiness readiness)
    {
        if (_pending.Count > 0 && !Flush(eventLoop))
        {
            return;
        }

        if (!_peerFinished && _pending.Count < context.Options.MaxPendingBytes && !ReadAndEcho(eventLoop, readiness))
        {
            return;
        }

        if (_peerFinished && _pending.Count == 0)
        {
            Close(eventLoop, "client finished");
        }
    }

    /// <returns>False if the connection was closed.</returns>
    private bool ReadAndEcho(EventLoop eventLoop, Readiness readiness)
    {
        var buffer = context.ReadBuffer;

        // A short read means the receive queue is empty and later data raises a new edge (netty's
        // edge-triggered transport relies on the same fact), which saves the read that would only
        // return EAGAIN. Not so for a FIN or RST that came with this edge: read() returns the data
        // first and leaves the end of stream for a read no new edge will prompt.
        var shortReadDrains = (readiness & (Readiness.ReadClosed | Readiness.WriteClosed | Readiness.Error)) == 0;
        for (var reads = 0; reads < context.Options.ReadsPerWakeup; reads++)
        {
            var n = socket.Read(buffer, out var errno);
            if (n > 0)
            {
                context.BytesEchoed += n;
                if (_pending.Count == 0)
                {
                    var written = socket.Write(buffer.AsSpan(0, n), out errno);
                    if (written < 0)
                    {
                        if (!errno.IsWouldBlock)
                        {
                            return CloseOnError(eventLoop, "write", errno);
                        }

                        written = 0;
                    }

                    if (written < n)
                    {
                        _pending.Append(buffer.AsSpan(written, n - written));
                    }
                }
                else
                {
                    _pending.Append(buffer.AsSpan(0, n));
                    if (!Flush(eventLoop))
                    {
                        return false;
                    }
                }

                if (_pending.Count >= context.Options.MaxPendingBytes)
                {
                    // Stop reading; the writable edge that comes when the client reads resumes us.
                    return true;
                }

                if (n < buffer.Length && shortReadDrains)
                {
                    return true;
                }

                continue;
            }

            if (n == 0)
            {
                _peerFinished = true;
                return true;
            }

            return errno.IsWouldBlock || CloseOnError(eventLoop, "read", errno);
        }

        // Budget spent with data possibly still queued: no new edge will come for it, so ask the loop
        // to call us again after the others have had their turn.
        eventLoop.Schedule(Token, readiness);
        return true;
    }

    /// <returns>False if the connection was closed.</returns>
    private bool Flush(EventLoop eventLoop)
    {
        while (_pending.Count > 0)
        {
            var written = socket.Write(_pending.Span, out var errno);
            if (written < 0)
            {
                return errno.IsWouldBlock || CloseOnError(eventLoop, "write", errno);
            }

            _pending.Consume(written);
        }

        return true;
    }

    private bool CloseOnError(EventLoop eventLoop, string operation, Errno errno)
    {
        Close(eventLoop, errno.IsPeerGone ? "client reset" : $"{operation} failed: {errno}");
        return false;
    }

    private void Close(EventLoop eventLoop, string reason)
    {
        eventLoop.Deregister(Token);
        context.ActiveConnections--;
        EchoLog.Closed(context.Logger, Token.Value, reason);
        Dispose();
    }

    public void Dispose()
    {
        socket.Dispose();
        _pending.Release();
    }
}
