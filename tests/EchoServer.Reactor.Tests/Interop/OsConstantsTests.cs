using System.Reflection;
using EchoServer.Reactor.Interop;
using FluentAssertions;

namespace EchoServer.Reactor.Tests.Interop;

/// <summary>
/// Every per-OS number, written a second time from rust-lang/libc 0.2.139 (Debian librust-libc-dev):
/// Linux from <c>src/unix/linux_like/mod.rs</c>, <c>linux_like/linux/mod.rs</c>, <c>linux/arch/generic/mod.rs</c>,
/// <c>linux/gnu/b64/x86_64/mod.rs</c> (aarch64 agrees for all of these); macOS from <c>src/unix/bsd/apple/mod.rs</c>
/// and <c>src/unix/bsd/mod.rs</c>; FreeBSD from <c>src/unix/bsd/freebsdlike/mod.rs</c> and
/// <c>freebsdlike/freebsd/mod.rs</c>. The tables are checked on whatever OS runs the tests, so a wrong
/// macOS number fails on Linux CI too. A field added to a table without a row here fails
/// <see cref="Every_field_of_the_table_has_an_expected_value"/>.
/// </summary>
public class OsConstantsTests
{
    private static readonly Dictionary<string, (long Linux, long MacOS, long FreeBSD)> Expected = new()
    {
        // errno
        ["EPERM"] = (1, 1, 1),
        ["ENOENT"] = (2, 2, 2),
        ["EINTR"] = (4, 4, 4),
        ["EBADF"] = (9, 9, 9),
        ["ENOMEM"] = (12, 12, 12),
        ["EACCES"] = (13, 13, 13),
        ["EEXIST"] = (17, 17, 17),
        ["EINVAL"] = (22, 22, 22),
        ["ENFILE"] = (23, 23, 23),
        ["EMFILE"] = (24, 24, 24),
        ["EPIPE"] = (32, 32, 32),
        ["EAGAIN"] = (11, 35, 35),
        ["EINPROGRESS"] = (115, 36, 36),
        ["EAFNOSUPPORT"] = (97, 47, 47),
        ["EADDRINUSE"] = (98, 48, 48),
        ["EADDRNOTAVAIL"] = (99, 49, 49),
        ["ENETUNREACH"] = (101, 51, 51),
        ["ECONNABORTED"] = (103, 53, 53),
        ["ECONNRESET"] = (104, 54, 54),
        ["ENOBUFS"] = (105, 55, 55),
        ["ENOTCONN"] = (107, 57, 57),
        ["ETIMEDOUT"] = (110, 60, 60),
        ["ECONNREFUSED"] = (111, 61, 61),
        ["EHOSTUNREACH"] = (113, 65, 65),
        ["EPROTO"] = (71, 100, 92),

        // sockets; 0 = "does not exist on this OS"
        ["AF_INET"] = (2, 2, 2),
        ["AF_INET6"] = (10, 30, 28),
        ["SOCK_STREAM"] = (1, 1, 1),
        ["SOCK_DGRAM"] = (2, 2, 2),
        ["SOCK_NONBLOCK"] = (0x800, 0, 0x20000000),
        ["SOCK_CLOEXEC"] = (0x80000, 0, 0x10000000),
        ["SOL_SOCKET"] = (1, 0xffff, 0xffff),
        ["SO_REUSEADDR"] = (2, 0x4, 0x4),
        ["SO_REUSEPORT"] = (15, 0x200, 0x200),
        ["SO_ERROR"] = (4, 0x1007, 0x1007),
        ["SO_LINGER"] = (13, 0x80, 0x80),
        ["SO_SNDBUF"] = (7, 0x1001, 0x1001),
        ["SO_RCVBUF"] = (8, 0x1002, 0x1002),
        ["SO_OOBINLINE"] = (10, 0x100, 0x100),
        ["SO_NOSIGPIPE"] = (0, 0x1022, 0x800),
        ["IPPROTO_TCP"] = (6, 6, 6),
        ["TCP_NODELAY"] = (1, 1, 1),
        ["IPPROTO_IPV6"] = (41, 41, 41),
        ["IPV6_V6ONLY"] = (26, 27, 27),
        ["MSG_NOSIGNAL"] = (0x4000, 0, 0x20000),
        ["SHUT_RD"] = (0, 0, 0),
        ["SHUT_WR"] = (1, 1, 1),
        ["SHUT_RDWR"] = (2, 2, 2),
        ["SOMAXCONN"] = (4096, 128, 128),

        // fcntl
        ["F_SETFD"] = (2, 2, 2),
        ["F_GETFL"] = (3, 3, 3),
        ["F_SETFL"] = (4, 4, 4),
        ["FD_CLOEXEC"] = (1, 1, 1),
        ["O_NONBLOCK"] = (0x800, 0x4, 0x4),

        // resource (linux_like/linux/mod.rs RLIMIT_NOFILE via the asm-generic value; apple/mod.rs; freebsdlike/mod.rs)
        ["RLIMIT_NOFILE"] = (7, 8, 8),

        // splice(2) and pipes, Linux only (linux_like/mod.rs SPLICE_F_*, linux_like/linux/mod.rs F_SETPIPE_SZ,
        // O_CLOEXEC in linux/gnu/b64/x86_64/mod.rs); 0 = no splice on this OS. HasSplice: 1 = true.
        ["O_CLOEXEC"] = (0x80000, 0, 0),
        ["SPLICE_F_MOVE"] = (1, 0, 0),
        ["SPLICE_F_NONBLOCK"] = (2, 0, 0),
        ["F_SETPIPE_SZ"] = (1031, 0, 0),
        ["F_GETPIPE_SZ"] = (1032, 0, 0),
        ["HasSplice"] = (1, 0, 0),
    };

    // <sys/event.h>: macOS apple/mod.rs, FreeBSD freebsdlike/freebsd/mod.rs (struct size: apple/mod.rs
    // and freebsd12/mod.rs struct kevent); libkqueue its include/sys/event.h.in (and ../shared/vendor/README.md).
    // Windows: winerror.h (WSAE* for the errno meanings; EPIPE = WSAESHUTDOWN, ENOMEM = WSA_NOT_ENOUGH_MEMORY,
    // EEXIST = ERROR_ALREADY_EXISTS, ENOENT = ERROR_FILE_NOT_FOUND), winsock2.h and ws2def.h; 0 where Windows has no such thing.
    private static readonly Dictionary<string, long> ExpectedWindows = new()
    {
        ["EPERM"] = 10013,
        ["ENOENT"] = 2,
        ["EINTR"] = 10004,
        ["EBADF"] = 10038,
        ["ENOMEM"] = 8,
        ["EACCES"] = 10013,
        ["EEXIST"] = 183,
        ["EINVAL"] = 10022,
        ["ENFILE"] = 10024,
        ["EMFILE"] = 10024,
        ["EPIPE"] = 10058,
        ["EAGAIN"] = 10035,
        ["EINPROGRESS"] = 10036,
        ["EAFNOSUPPORT"] = 10047,
        ["EADDRINUSE"] = 10048,
        ["EADDRNOTAVAIL"] = 10049,
        ["ENETUNREACH"] = 10051,
        ["ECONNABORTED"] = 10053,
        ["ECONNRESET"] = 10054,
        ["ENOBUFS"] = 10055,
        ["ENOTCONN"] = 10057,
        ["ETIMEDOUT"] = 10060,
        ["ECONNREFUSED"] = 10061,
        ["EHOSTUNREACH"] = 10065,
        ["EPROTO"] = 10041,
        ["AF_INET"] = 2,
        ["AF_INET6"] = 23,
        ["SOCK_STREAM"] = 1,
        ["SOCK_DGRAM"] = 2,
        ["SOCK_NONBLOCK"] = 0,
        ["SOCK_CLOEXEC"] = 0,
        ["SOL_SOCKET"] = 0xffff,
        ["SO_REUSEADDR"] = 4,
        ["SO_REUSEPORT"] = 0,
        ["SO_ERROR"] = 0x1007,
        ["SO_LINGER"] = 128,
        ["SO_SNDBUF"] = 0x1001,
        ["SO_RCVBUF"] = 0x1002,
        ["SO_OOBINLINE"] = 0x100,
        ["SO_NOSIGPIPE"] = 0,
        ["IPPROTO_TCP"] = 6,
        ["TCP_NODELAY"] = 1,
        ["IPPROTO_IPV6"] = 41,
        ["IPV6_V6ONLY"] = 27,
        ["MSG_NOSIGNAL"] = 0,
        ["SHUT_RD"] = 0,
        ["SHUT_WR"] = 1,
        ["SHUT_RDWR"] = 2,
        ["SOMAXCONN"] = 0x7fffffff,
        ["F_SETFD"] = 0,
        ["F_GETFL"] = 0,
        ["F_SETFL"] = 0,
        ["FD_CLOEXEC"] = 0,
        ["O_NONBLOCK"] = 0,
        ["RLIMIT_NOFILE"] = 0,
        ["O_CLOEXEC"] = 0,
        ["SPLICE_F_MOVE"] = 0,
        ["SPLICE_F_NONBLOCK"] = 0,
        ["F_SETPIPE_SZ"] = 0,
        ["F_GETPIPE_SZ"] = 0,
        ["HasSplice"] = 0,
    };

    private static readonly Dictionary<string, (long MacOS, long FreeBSD, long Libkqueue)> ExpectedKqueue = new()
    {
        ["KEventSize"] = (32, 64, 32),
        ["EVFILT_READ"] = (-1, -1, -1),
        ["EVFILT_WRITE"] = (-2, -2, -2),
        ["EVFILT_TIMER"] = (-7, -7, -7),
        ["EVFILT_USER"] = (-10, -11, -11),
        ["EV_ADD"] = (0x1, 0x1, 0x1),
        ["EV_DELETE"] = (0x2, 0x2, 0x2),
        ["EV_ENABLE"] = (0x4, 0x4, 0x4),
        ["EV_DISABLE"] = (0x8, 0x8, 0x8),
        ["EV_ONESHOT"] = (0x10, 0x10, 0x10),
        ["EV_CLEAR"] = (0x20, 0x20, 0x20),
        ["EV_RECEIPT"] = (0x40, 0x40, 0x40),
        ["EV_DISPATCH"] = (0x80, 0x80, 0x80),
        ["EV_ERROR"] = (0x4000, 0x4000, 0x4000),
        ["EV_EOF"] = (0x8000, 0x8000, 0x8000),
        ["NOTE_FFNOP"] = (0, 0, 0),
        ["NOTE_TRIGGER"] = (0x01000000, 0x01000000, 0x01000000),
        ["InLibkqueue"] = (0, 0, 1),
    };

    // Keepalive and the unacknowledged-data bound (Interop.TcpOptions.cs): rust libc linux_like/mod.rs,
    // linux/arch/generic/mod.rs, apple/mod.rs, freebsdlike/mod.rs; macOS TCP_RXT_CONNDROPTIME from xnu netinet/tcp.h,
    // FreeBSD TCP_MAXUNACKTIME from FreeBSD 14 netinet/tcp.h; Windows SDK winsock2.h and ws2ipdef.h.
    private static readonly Dictionary<string, (long Linux, long MacOS, long FreeBSD, long Windows)> ExpectedTcp = new()
    {
        ["SO_KEEPALIVE"] = (9, 0x8, 0x8, 0x8),
        ["TCP_KEEPIDLE"] = (4, 0x10, 256, 3),
        ["TCP_KEEPINTVL"] = (5, 0x101, 512, 17),
        ["TCP_KEEPCNT"] = (6, 0x102, 1024, 16),
        ["UnacknowledgedTimeout"] = (18, 0x80, 68, 5),
        ["UnacknowledgedTimeoutUnitMs"] = (1, 1000, 1000, 1000),
    };

    public static TheoryData<string, string, long> TcpOptionRows()
    {
        var rows = PerOsRows(ExpectedTcp.ToDictionary(e => e.Key, e => (e.Value.Linux, e.Value.MacOS, e.Value.FreeBSD)));
        foreach (var (name, v) in ExpectedTcp)
        {
            rows.Add(nameof(OsFamily.Windows), name, v.Windows);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(TcpOptionRows))]
    public void Tcp_option_has_the_value_of_the_os_headers(string osName, string field, long expected)
    {
        var os = Enum.Parse<OsFamily>(osName);
        ValueOf(os switch { OsFamily.Linux => TcpOptionConstants.Linux, OsFamily.MacOS => TcpOptionConstants.MacOS, OsFamily.Windows => TcpOptionConstants.Windows, _ => TcpOptionConstants.FreeBSD }, field)
            .Should().Be(expected, $"{os} {field}");
    }

    public static TheoryData<string, string, long> OsConstantRows()
    {
        var rows = PerOsRows(Expected);
        foreach (var (name, v) in ExpectedWindows)
        {
            rows.Add(nameof(OsFamily.Windows), name, v);
        }

        return rows;
    }

    private static TheoryData<string, string, long> PerOsRows(Dictionary<string, (long Linux, long MacOS, long FreeBSD)> expected)
    {
        var rows = new TheoryData<string, string, long>();
        foreach (var (name, v) in expected)
        {
            rows.Add(nameof(OsFamily.Linux), name, v.Linux);
            rows.Add(nameof(OsFamily.MacOS), name, v.MacOS);
            rows.Add(nameof(OsFamily.FreeBSD), name, v.FreeBSD);
        }

        return rows;
    }

    public static TheoryData<string, string, long> KqueueConstantRows()
    {
        var rows = new TheoryData<string, string, long>();
        foreach (var (name, v) in ExpectedKqueue)
        {
            rows.Add("macOS", name, v.MacOS);
            rows.Add("FreeBSD", name, v.FreeBSD);
            rows.Add("libkqueue", name, v.Libkqueue);
        }

        return rows;
    }

    [Theory]
    [MemberData(nameof(OsConstantRows))]
    public void Os_constant_has_the_value_of_the_os_headers(string osName, string field, long expected)
    {
        var os = Enum.Parse<OsFamily>(osName);
        var table = os switch
        {
            OsFamily.Linux => OsConstants.Linux,
            OsFamily.MacOS => OsConstants.MacOS,
            OsFamily.Windows => OsConstants.Windows,
            _ => OsConstants.FreeBSD,
        };

        ValueOf(table, field).Should().Be(expected, $"{os} {field} (rust libc)");
    }

    [Theory]
    [MemberData(nameof(KqueueConstantRows))]
    public void Kqueue_constant_has_the_value_of_the_os_headers(string abi, string field, long expected)
    {
        var table = abi switch
        {
            "macOS" => KqueueConstants.For(OsFamily.MacOS)!,
            "FreeBSD" => KqueueConstants.For(OsFamily.FreeBSD)!,
            _ => KqueueConstants.Libkqueue,
        };
        ValueOf(table, field).Should().Be(expected, $"{abi} {field} (rust libc; libkqueue's own header)");
    }

    [Fact]
    public void The_kernel_has_no_kqueue_table_on_Linux_and_libkqueue_runs_on_Linux()
    {
        KqueueConstants.For(OsFamily.Linux).Should().BeNull();
        KqueueConstants.Libkqueue.Os.Should().Be(OsFamily.Linux);
    }

    [Theory]
    [InlineData(nameof(OsFamily.Linux))]
    [InlineData(nameof(OsFamily.MacOS))]
    [InlineData(nameof(OsFamily.FreeBSD))]
    [InlineData(nameof(OsFamily.Windows))]
    public void Each_table_names_its_own_os(string osName)
    {
        var os = Enum.Parse<OsFamily>(osName);
        var table = os switch
        {
            OsFamily.Linux => OsConstants.Linux,
            OsFamily.MacOS => OsConstants.MacOS,
            OsFamily.Windows => OsConstants.Windows,
            _ => OsConstants.FreeBSD,
        };

        table.Os.Should().Be(os);
        KqueueConstants.For(os)?.Os.Should().Be(os);
    }

    [Fact]
    public void Every_field_of_the_table_has_an_expected_value()
    {
        FieldNames(typeof(OsConstants)).Should().BeEquivalentTo(Expected.Keys);
        FieldNames(typeof(OsConstants)).Should().BeEquivalentTo(ExpectedWindows.Keys);
        FieldNames(typeof(KqueueConstants)).Should().BeEquivalentTo(ExpectedKqueue.Keys);
        FieldNames(typeof(TcpOptionConstants)).Should().BeEquivalentTo(ExpectedTcp.Keys);
    }

    [Fact]
    public void Linux_has_no_kqueue_table()
    {
        KqueueConstants.For(OsFamily.Linux).Should().BeNull();
    }

    [Fact]
    public void Current_is_the_table_of_the_running_os()
    {
        var expected =
            OperatingSystem.IsLinux() ? OsConstants.Linux
            : OperatingSystem.IsMacOS() ? OsConstants.MacOS
            : OperatingSystem.IsFreeBSD() ? OsConstants.FreeBSD
            : OperatingSystem.IsWindows() ? OsConstants.Windows
            : null;

        expected.Should().NotBeNull("the tests run only on Linux, macOS, FreeBSD or Windows");
        OsConstants.Current.Should().BeSameAs(expected);
    }

    private static IEnumerable<string> FieldNames(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.Name != "Os" && p.CanWrite) // computed ones (KqueueConstants.WideKEvent) hold no value of their own
            .Select(p => p.Name);

    private static long ValueOf(object table, string field)
    {
        var property = table.GetType().GetProperty(field, BindingFlags.Public | BindingFlags.Instance);
        property.Should().NotBeNull($"{table.GetType().Name} should have a field {field}");
        return Convert.ToInt64(property!.GetValue(table), System.Globalization.CultureInfo.InvariantCulture);
    }
}
