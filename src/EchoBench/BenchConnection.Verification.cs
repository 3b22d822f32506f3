using System.Diagnostics;
using EchoServer.Reactor;

namespace EchoBench;

/// <content>
/// Checking what comes back: every echoed byte against the pattern at its stream offset, bytes never sent,
/// and the messages and round-trip times that count toward the result.
/// </content>
internal sealed partial class BenchConnection
{
    /// <summary>Checks echoed bytes against the stream, counts messages and round-trip times.</summary>
    /// <returns>False if the connection ended.</returns>
    private bool Check(EventLoop loop, ReadOnlySpan<byte> echoed)
    {
        var owed = _sent - _received;
        var unexpected = echoed.Length > owed ? echoed.Length - owed : 0;
        if (unexpected > 0)
        {
            echoed = echoed[..(int)owed];
        }

        CountMismatches(echoed);
        var before = _received;
        _received += echoed.Length;
        _stats.AllBytes += echoed.Length;
        CountCompletedMessages(before);
        if (_run.Counting)
        {
            _stats.Bytes += echoed.Length;
        }

        if (unexpected > 0)
        {
            _stats.Mismatched += unexpected;
            Fail(loop, BenchFailure.Mismatch, $"the server sent {unexpected} bytes more than it was sent");
            return false;
        }

        return true;
    }

    /// <summary>Counts echoed bytes that differ from the stream at their offset; the first run of them is reported.</summary>
    private void CountMismatches(ReadOnlySpan<byte> echoed)
    {
        var mismatched = _pattern.CountMismatches(_patternOffset, _received, echoed);
        if (mismatched > 0)
        {
            if (_stats.Mismatched == 0)
            {
                _run.Report(Index, $"echoed bytes differ from what was sent, first near stream offset {_received}");
            }

            _stats.Mismatched += mismatched;
            CountError();
        }
    }

    /// <summary>Counts the messages whose echo completed since <paramref name="before"/>, with their round-trip times.</summary>
    private void CountCompletedMessages(long before)
    {
        var completed = (_received / _size) - (before / _size);
        if (completed <= 0)
        {
            return;
        }

        _stats.AllMessages += completed;
        if (_run.Counting)
        {
            _stats.Messages += completed;
            if (_sendTimes is not null)
            {
                var now = Stopwatch.GetTimestamp();
                for (var k = before / _size; k < _received / _size; k++)
                {
                    _stats.Latency.Record(BenchRun.TicksToNanoseconds(now - _sendTimes[k % _sendTimes.Length]));
                }
            }
        }

        if (before < _size && _received >= _size)
        {
            _run.FirstRoundTripDone();
        }
    }
}
