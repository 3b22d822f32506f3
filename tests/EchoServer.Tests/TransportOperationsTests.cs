using System.Net;
using System.Net.Sockets;
using FluentAssertions;

namespace EchoServer.Tests;

/// <summary>UDP echo (--udp) and unix domain sockets (--bind unix:/path), on the real process.</summary>
public sealed class TransportOperationsTests
{
    [Fact]
    public async Task Udp_echoes_each_datagram_including_an_empty_one_and_ignores_source_port_7()
    {
        await using var server = await ServerProcess.StartAsync("--udp", "--stats-interval", "200ms");
        await UdpEchoChecks.AssertEchoesAndRefusesSourcePort7Async(server, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_unix_socket_echoes_and_its_file_is_removed_after_SIGTERM()
    {
        var path = NewSocketPath();
        try
        {
            await using var server = await ServerProcess.StartUnixAsync(path);
            server.UnixPath.Should().Be(path);
            File.Exists(path).Should().BeTrue("the socket file exists while the server listens");

            using (var client = await ConnectUnixAsync(path))
            {
                await Client.AssertEchoesAsync(client, "over a unix socket\n");
            }

            await server.SendSignalAsync("TERM");
            await server.WaitForExitAsync(Patience.ProcessExit);
            server.ExitCode.Should().Be(0, server.Output);
            File.Exists(path).Should().BeFalse("the server removes its socket file on exit");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_stale_socket_file_is_replaced_at_start()
    {
        var path = NewSocketPath();
        try
        {
            MakeStaleSocket(path);
            File.Exists(path).Should().BeTrue();
            var stale = async () => await ConnectUnixAsync(path);
            (await stale.Should().ThrowAsync<SocketException>("nothing listens on a stale socket")).Which.SocketErrorCode.Should().Be(SocketError.ConnectionRefused);

            await using var server = await ServerProcess.StartUnixAsync(path);
            using var client = await ConnectUnixAsync(path);
            await Client.AssertEchoesAsync(client, "a fresh socket in the stale one's place\n");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_second_server_on_a_live_socket_path_exits_1_and_leaves_the_first_alone()
    {
        var path = NewSocketPath();
        try
        {
            await using var first = await ServerProcess.StartUnixAsync(path);

            await using var second = await ServerProcess.RunToExitAsync("--bind", $"unix:{path}");

            second.ExitCode.Should().Be(1, second.Output);
            second.StderrLines.Should().ContainSingle(second.Output).Which.Should().Contain("address already in use").And.Contain(path);
            second.Output.Should().NotContain("   at ", "errors must not be stack traces");
            using var client = await ConnectUnixAsync(path);
            await Client.AssertEchoesAsync(client, "the first server still has its socket\n");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_regular_file_at_the_socket_path_is_named_as_such_and_kept()
    {
        var path = NewSocketPath();
        try
        {
            File.WriteAllText(path, "keep me");

            await using var server = await ServerProcess.RunToExitAsync("--bind", $"unix:{path}");

            server.ExitCode.Should().Be(1, server.Output);
            server.StderrLines.Should().ContainSingle(server.Output).Which.Should().Contain(path).And.Contain("exists and is not a socket")
                .And.NotContain("port").And.NotContain("another process");
            File.ReadAllText(path).Should().Be("keep me");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("on")]
    [InlineData("off")]
    public async Task An_urgent_byte_on_a_unix_socket_is_echoed_in_its_place_after_a_large_stream(string zeroCopy)
    {
        var path = NewSocketPath();
        try
        {
            await using var server = await ServerProcess.StartUnixAsync(path, "--zero-copy", zeroCopy);
            using var client = await ConnectUnixAsync(path);

            await UrgentDataTests.AssertUrgentByteAfterLargeStreamComesBackInlineAsync(client);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string NewSocketPath() => Path.Combine("/tmp", $"echoserver-test-{Guid.NewGuid():N}.sock");

    private static async Task<Socket> ConnectUnixAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            using var cts = new CancellationTokenSource(Patience.Short);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cts.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Leaves a socket file at <paramref name="path"/> with no listener, as a crashed server would. A .NET socket
    /// deletes the file it bound when disposed, so it binds another name and the file is renamed first.
    /// </summary>
    private static void MakeStaleSocket(string path)
    {
        var bound = path + ".bound";
        using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            listener.Bind(new UnixDomainSocketEndPoint(bound));
            listener.Listen();
            File.Move(bound, path);
        }

        File.Exists(bound).Should().BeFalse();
    }
}
