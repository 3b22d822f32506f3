using System.Diagnostics;
using EchoServer.Reactor;
using EchoServer.Reactor.Pollers;

namespace EchoBench;

/// <content>
/// Moving bytes through the socket, a bounded number of calls per wakeup so one busy connection cannot starve
/// the others: reads until EAGAIN (or a short read), writes up to <see cref="Target"/> until EAGAIN.
/// </content>
internal sealed partial class BenchConnection
{
    private const int ReadsPerWakeup = 16;
    private const int WritesPerWakeup = 16;

    /// <summary>The stream offset sending may reach now.</summary>
    private long Target()
    {
        var target = _bulk ? _sent + _size : (_received / _size * _size) + _inFlight;
        return Math.Min(target, _cap);
    }

    /// <returns>False if the connection ended.</returns>
    private bool ReadAll(EventLoop loop, Readiness readiness)
    {
        var buffer = _run.ReadBuffer;
        var shortReadDrains = (readiness & (Readiness.ReadClosed | Readiness.WriteClosed | Readiness.Error)) == 0;
        for (var reads = 0; reads < ReadsPerWakeup; reads++)
        {
            var n = _socket.Read(buffer, out var errno);
            if (n > 0)
            {
                if (!Check(loop, buffer.AsSpan(0, n)))
                {
                    return false;
                }

                if (n < buffer.Length && shortReadDrains)
                {
                    return true;
                }

                continue;
            }

            if (n == 0)
            {
                Fail(loop, BenchFailure.Eof, $"the server closed the connection with {Owed} echoed bytes missing");
                return false;
            }

            if (errno.IsWouldBlock)
            {
                return true;
            }

            // EINTR never reaches here: the library's read retries it.
            Fail(loop, BenchFailure.Reset, $"read failed: {errno}");
            return false;
        }

        _reschedule |= Readiness.Readable;
        return true;
    }

    /// <returns>False if the connection ended.</returns>
    private bool WriteAll(EventLoop loop)
    {
        for (var writes = 0; writes < WritesPerWakeup; writes++)
        {
            if (_writeBlocked)
            {
                return true;
            }

            var target = Target();
            if (_sent >= target)
            {
                return true;
            }

            var length = (int)Math.Min(target - _sent, BenchPattern.MaxChunk);
            var n = _socket.Write(_pattern.Slice(_patternOffset, _sent, length), out var errno);
            if (n < 0)
            {
                if (errno.IsWouldBlock)
                {
                    // The writable edge that comes when the kernel has room resumes us.
                    _writeBlocked = true;
                    return true;
                }

                Fail(loop, BenchFailure.Reset, $"write failed: {errno}"); // EINTR is retried by the library
                return false;
            }

            StampSendTimes(n);
            _sent += n;
        }

        _reschedule |= Readiness.Writable;
        return true;
    }

    /// <summary>Message k starts when its first byte, at offset k * size, is handed to the kernel.</summary>
    private void StampSendTimes(int written)
    {
        if (_sendTimes is not null)
        {
            var now = Stopwatch.GetTimestamp();
            for (var k = (_sent + _size - 1) / _size; k * _size < _sent + written; k++)
            {
                _sendTimes[k % _sendTimes.Length] = now;
            }
        }
    }
}
