using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using EchoServer.TestSupport;

namespace EchoServer.Tests;

/// <summary>
/// A network namespace joined to this one by a veth pair, for tests of what a real network does to a connection: a
/// client socket made inside it (<see cref="Connect"/>) reaches a server bound to <see cref="HostAddress"/> over the
/// veth, and nft rules inside it drop that client's packets (<see cref="VanishAsync"/>, <see cref="LoseAsync"/>). The
/// names and the /30 subnet come from the test process's PID and a counter, so tests running at once do not collide;
/// <see cref="DisposeAsync"/> removes the veth and the namespace by name, whatever happened. Linux, as root, with
/// iproute2 and nftables (.ci/run installs them); elsewhere the test is skipped, saying why.
/// </summary>
internal sealed partial class NetworkNamespace : IAsyncDisposable
{
    private const int CloneNewNet = 0x40000000; // <sched.h> CLONE_NEWNET
    private const string Table = "echotest";
    private static int s_counter;

    private readonly string _hostLink;
    private readonly string _peerLink;

    private NetworkNamespace(int id)
    {
        var pid = Environment.ProcessId;
        Name = $"echotest-{pid}-{id}";
        _hostLink = $"es{pid % 10_000_000}h{id % 1000}";
        _peerLink = $"es{pid % 10_000_000}p{id % 1000}";

        // 10.64.0.0/10 cut into /30s: 22 bits of PID and counter, host side .1, namespace side .2.
        var subnet = (uint)(((pid % 65536) * 64) + (id % 64));
        var network = (10u << 24) | (64u << 16) | (subnet << 2);
        HostAddress = ToAddress(network + 1);
        PeerAddress = ToAddress(network + 2);
    }

    /// <summary>The namespace's name (ip netns).</summary>
    public string Name { get; }

    /// <summary>This side's end of the veth: bind the server here.</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The namespace's end of the veth: the client's address.</summary>
    public IPAddress PeerAddress { get; }

    /// <summary>Creates the namespace and the veth, with addresses, up; skips the test where that is not permitted.</summary>
    public static async Task<NetworkNamespace> CreateAsync()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "network namespaces and veth pairs are Linux's");
        Assert.SkipUnless(Environment.IsPrivilegedProcess, "creating a network namespace and a veth pair needs root");
        Assert.SkipWhen(Executables.Find("ip") is null, "iproute2 (ip) is not installed");
        Assert.SkipWhen(Executables.Find("nft") is null, "nftables (nft) is not installed");

        var ns = new NetworkNamespace(Interlocked.Increment(ref s_counter));
        var created = await TryRunAsync("ip", "netns", "add", ns.Name);
        Assert.SkipWhen(created is not null, $"ip netns add is not permitted here: {created}");
        try
        {
            await RunAsync("ip", "link", "add", ns._hostLink, "type", "veth", "peer", "name", ns._peerLink, "netns", ns.Name);
            await RunAsync("ip", "addr", "add", $"{ns.HostAddress}/30", "dev", ns._hostLink);
            await RunAsync("ip", "link", "set", ns._hostLink, "up");
            await ns.RunInsideAsync("ip", "addr", "add", $"{ns.PeerAddress}/30", "dev", ns._peerLink);
            await ns.RunInsideAsync("ip", "link", "set", ns._peerLink, "up");
            await ns.RunInsideAsync("nft", "add", "table", "inet", Table);
            await ns.RunInsideAsync("nft", "add", "chain", "inet", Table, "in", "{ type filter hook input priority 0; }");
            await ns.RunInsideAsync("nft", "add", "chain", "inet", Table, "out", "{ type filter hook output priority 0; }");
            return ns;
        }
        catch
        {
            await ns.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A blocking TCP socket made inside the namespace (this thread of the test enters it just for socket(2)),
    /// connected to <paramref name="server"/>; usable from any thread, as any socket.
    /// </summary>
    /// <param name="server">Where to connect.</param>
    /// <param name="timeout">The socket's send and receive timeouts.</param>
    /// <param name="receiveBufferBytes">SO_RCVBUF before connecting (so the handshake offers a window for it); 0 = the kernel's.</param>
    public Socket Connect(IPEndPoint server, TimeSpan timeout, int receiveBufferBytes = 0)
    {
        Socket? socket = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                socket = CreateInside();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw failure;
        }

        socket!.SendTimeout = socket.ReceiveTimeout = (int)timeout.TotalMilliseconds;
        try
        {
            if (receiveBufferBytes > 0)
            {
                socket.ReceiveBufferSize = receiveBufferBytes;
            }

            socket.Connect(server);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The client vanishes without a word: every packet in or out of the namespace is dropped from now on.</summary>
    public async Task VanishAsync()
    {
        await RunInsideAsync("nft", "add", "rule", "inet", Table, "in", "drop");
        await RunInsideAsync("nft", "add", "rule", "inet", Table, "out", "drop");
    }

    /// <summary>
    /// A lossy link: <paramref name="percent"/> of the packets crossing the namespace's veth, each way, dropped at random.
    /// Both ends first stop sending 64 KiB GSO batches (gso_max_size of one MTU), so a packet is one wire-sized segment.
    /// </summary>
    public async Task LoseAsync(int percent)
    {
        await RunAsync("ip", "link", "set", "dev", _hostLink, "gso_max_size", "1500");
        await RunInsideAsync("ip", "link", "set", "dev", _peerLink, "gso_max_size", "1500");
        await RunInsideAsync("nft", "add", "rule", "inet", Table, "in", "iifname", _peerLink, "numgen", "random", "mod", "100", "<", $"{percent}", "counter", "drop");
        await RunInsideAsync("nft", "add", "rule", "inet", Table, "out", "oifname", _peerLink, "numgen", "random", "mod", "100", "<", $"{percent}", "counter", "drop");
    }

    /// <summary>Packets the <see cref="LoseAsync"/> rules have dropped so far, both ways.</summary>
    public async Task<long> DroppedPacketsAsync()
    {
        await using var list = await ServerProcess.RunToExitAsync(
            Executables.Find("ip") ?? "ip", ["netns", "exec", Name, "nft", "list", "table", "inet", Table], environment: null, Patience.Short);
        return DropCounter().Matches(list.Stdout).Sum(m => long.Parse(m.Groups["packets"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Deletes the veth (both ends) and the namespace by name; each step runs even if another fails.</summary>
    public async ValueTask DisposeAsync()
    {
        await TryRunAsync("ip", "link", "del", _hostLink);
        await TryRunAsync("ip", "netns", "del", Name);
    }

    private Socket CreateInside()
    {
        using var home = File.OpenHandle("/proc/thread-self/ns/net");
        using var inside = File.OpenHandle($"/run/netns/{Name}");
        if (SetNamespace(inside.DangerousGetHandle().ToInt32(), CloneNewNet) != 0)
        {
            throw new InvalidOperationException($"setns into {Name} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            return new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        }
        finally
        {
            // This thread ends right after; going home still keeps it from doing anything else in the namespace.
            _ = SetNamespace(home.DangerousGetHandle().ToInt32(), CloneNewNet);
        }
    }

    private Task RunInsideAsync(params string[] args) => RunAsync("ip", ["netns", "exec", Name, .. args]);

    private static async Task RunAsync(string tool, params string[] args)
    {
        var failure = await TryRunAsync(tool, args);
        if (failure is not null)
        {
            throw new InvalidOperationException(failure);
        }
    }

    /// <returns>Null on success, else the command and what it printed.</returns>
    private static async Task<string?> TryRunAsync(string tool, params string[] args)
    {
        var path = Executables.Find(tool) ?? tool;
        await using var run = await ServerProcess.RunToExitAsync(path, args, environment: null, Patience.Short);
        return run.ExitCode == 0 ? null : $"{tool} {string.Join(' ', args)} exited {run.ExitCode}: {run.Stderr}";
    }

    [GeneratedRegex(@"counter packets (?<packets>\d+) bytes \d+ drop")]
    private static partial Regex DropCounter();

    private static IPAddress ToAddress(uint value) =>
        new([(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value]);

    // int setns(int fd, int nstype);                                                setns(2)
    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    private static partial int SetNamespace(int fd, int type);
}
