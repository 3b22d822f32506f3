namespace EchoServer.TestSupport;

/// <summary>
/// How long a test waits before it calls something failed, one name per kind of wait, linked into every test
/// project. These bound waits for conditions only: they make a healthy run no slower, just a broken one fail
/// later, so each is generous for a loaded 2-core CI machine. A duration a test is about (an idle timeout under
/// test, a measurement window) is not patience and stays in its test.
/// </summary>
internal static class Patience
{
    /// <summary>A condition that holds within milliseconds on a healthy machine: a loopback connect or echo, an event delivered, a thread returning.</summary>
    public static readonly TimeSpan Short = TimeSpan.FromSeconds(5);

    /// <summary>A state the server reaches after several loop turns or reports on its next stats line: counters, closes processed, a log line.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(10);

    /// <summary>One client read or write of a test's payload through the server.</summary>
    public static readonly TimeSpan Io = TimeSpan.FromSeconds(20);

    /// <summary>Megabytes through the server, or a round of many clients.</summary>
    public static readonly TimeSpan Bulk = TimeSpan.FromSeconds(30);

    /// <summary>A launched process logging that it listens (the runtime starting cold included).</summary>
    public static readonly TimeSpan ProcessStart = TimeSpan.FromSeconds(15);

    /// <summary>A process exiting after a signal, a drain, or a run to completion.</summary>
    public static readonly TimeSpan ProcessExit = TimeSpan.FromSeconds(15);

    /// <summary>A scenario of several processes, or an external tool that starts its own runtime (systemd, echobench runs).</summary>
    public static readonly TimeSpan Scenario = TimeSpan.FromSeconds(60);

    /// <summary>A test class run under Wine (about 10 s when healthy; a run that hangs is killed and its output reported).</summary>
    public static readonly TimeSpan WineRun = TimeSpan.FromMinutes(3);

    /// <summary>A native or dotnet build, pack or tool install run by a test.</summary>
    public static readonly TimeSpan Build = TimeSpan.FromMinutes(6);
}
