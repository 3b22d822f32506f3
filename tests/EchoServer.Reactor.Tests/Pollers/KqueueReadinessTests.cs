using EchoServer.Reactor.Interop;
using EchoServer.Reactor.Pollers;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Pollers;

/// <summary>
/// The kqueue readiness derivation (mio <c>src/sys/unix/selector/kqueue.rs mod event</c>) as a pure
/// function, so it is checked on Linux too, for both OS tables. Where it departs from mio: every EVFILT_READ
/// event also says <see cref="Readiness.Priority"/>, since kqueue cannot tell whether a read stops at an urgent mark.
/// </summary>
public class KqueueReadinessTests
{
    private const ushort None = 0;
    private const ushort EvEof = 0x8000;
    private const ushort EvError = 0x4000;

    public static TheoryData<string, short, ushort, uint, Readiness> Rows()
    {
        var rows = new TheoryData<string, short, ushort, uint, Readiness>();
        const Readiness readable = Readiness.Readable | Readiness.Priority;
        foreach (var (os, user) in new[] { (nameof(OsFamily.MacOS), (short)-10), (nameof(OsFamily.FreeBSD), (short)-11) })
        {
            rows.Add(os, -1, None, 0, readable);
            rows.Add(os, -2, None, 0, Readiness.Writable);
            rows.Add(os, user, None, 0, Readiness.Readable);
            rows.Add(os, -1, EvEof, 0, readable | Readiness.ReadClosed);
            rows.Add(os, -2, EvEof, 0, Readiness.Writable | Readiness.WriteClosed);

            // EV_EOF with a socket error (ECONNRESET) in fflags.
            rows.Add(os, -1, EvEof, 54, readable | Readiness.ReadClosed | Readiness.Error);
            rows.Add(os, -2, EvEof, 32, Readiness.Writable | Readiness.WriteClosed | Readiness.Error);
            rows.Add(os, -1, EvError, 0, readable | Readiness.Error);

            // An unknown filter (e.g. EVFILT_TIMER) is neither readable nor writable.
            rows.Add(os, -7, None, 0, Readiness.None);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Kevent_maps_to_readiness_like_mio(string os, short filter, ushort flags, uint fflags, Readiness expected)
    {
        KqueuePoller.ToReadiness(KqueueConstants.For(Enum.Parse<OsFamily>(os))!, filter, flags, fflags).Should().Be(expected);
    }

    [Fact]
    public void Macos_evfilt_user_value_is_not_read_as_the_waker_on_freebsd()
    {
        // -10 is EVFILT_LIO on FreeBSD: using the macOS number there would make AIO look like the waker.
        KqueuePoller.ToReadiness(KqueueConstants.FreeBSD, -10, 0, 0).Should().Be(Readiness.None);
    }
}
