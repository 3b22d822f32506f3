using System.Text;

namespace EchoServer.Tests.Fuzz;

/// <summary>What a fuzzed client does at the TCP level, one step at a time.</summary>
internal enum ClientStep
{
    /// <summary>send() of 1 to 200 bytes.</summary>
    Small,

    /// <summary>send() of 1 MiB: enough to move the server's connection to the splice path.</summary>
    Large,

    /// <summary>One byte with MSG_OOB.</summary>
    Urgent,

    /// <summary>Two to four MSG_OOB bytes in a row (each moves the urgent mark).</summary>
    UrgentBurst,

    /// <summary>"abc", one MSG_OOB byte, "def": the sequence that once stopped the splice path at the mark.</summary>
    UrgentBetween,

    /// <summary>The client stops reading for 20 to 300 ms while it goes on sending: the server owes bytes meanwhile.</summary>
    PauseReading,

    /// <summary>shutdown(SHUT_WR): the last step; the client then reads the whole echo and the server's FIN.</summary>
    HalfClose,

    /// <summary>close() with SO_LINGER 0 (RST): the last step, often while the server owes bytes.</summary>
    Reset,
}

/// <summary>One step with its operands: the bytes it sends (in-band and urgent alike, in order) or the pause length.</summary>
internal sealed record ClientAction(ClientStep Step, byte[] Bytes, int PauseMs)
{
    public override string ToString() => Step switch
    {
        ClientStep.PauseReading => $"{Step}({PauseMs} ms)",
        ClientStep.HalfClose or ClientStep.Reset => Step.ToString(),
        _ => $"{Step}({Bytes.Length} B)",
    };
}

/// <summary>
/// A client's whole life, drawn from a seed: whether it shrinks its receive buffer (a zero window soon after it stops
/// reading), then its steps, ending with a half-close or a reset. The echo it must get back is every byte it sends, urgent
/// bytes included, in order: the server keeps urgent bytes inline (SO_OOBINLINE).
/// </summary>
internal sealed class ClientScript
{
    public const int LargeBytes = 1 << 20;

    /// <summary>
    /// Small, yet above loopback's MSS (64 KiB) once the kernel has doubled it: below that, Linux's sender falls back on
    /// zero-window probes with exponential backoff, and the stream crawls whichever server sends it.
    /// </summary>
    public const int SmallReceiveBufferBytes = 128 * 1024;

    private ClientScript(int seed, bool smallReceiveBuffer, IReadOnlyList<ClientAction> actions)
    {
        Seed = seed;
        SmallReceiveBuffer = smallReceiveBuffer;
        Actions = actions;
        Expected = [.. actions.SelectMany(a => a.Bytes)];
    }

    public int Seed { get; }

    /// <summary>
    /// SO_RCVBUF set to <see cref="SmallReceiveBufferBytes"/> before connecting, so a pause closes the window within one large write.
    /// </summary>
    public bool SmallReceiveBuffer { get; }

    public IReadOnlyList<ClientAction> Actions { get; }

    /// <summary>Everything the client sends, in order: what a half-closing client must get back, exactly.</summary>
    public byte[] Expected { get; }

    public bool EndsWithReset => Actions[^1].Step == ClientStep.Reset;

    /// <summary>Draws a script: 3 to 10 steps before the last, weighted towards the urgent and large cases.</summary>
    public static ClientScript Draw(int seed)
    {
        var random = new Random(seed);
        var actions = new List<ClientAction>();
        var count = random.Next(3, 11);
        for (var i = 0; i < count; i++)
        {
            actions.Add(DrawStep(random));
        }

        // Half-close right after an urgent byte is a case of its own; so is a reset right after a large write.
        if (random.Next(4) == 0)
        {
            actions.Add(Bytes(ClientStep.Urgent, random, 1));
        }

        actions.Add(random.Next(10) < 7 ? new ClientAction(ClientStep.HalfClose, [], 0) : new ClientAction(ClientStep.Reset, [], 0));
        return new ClientScript(seed, random.Next(5) == 0, actions);
    }

    private static ClientAction DrawStep(Random random) => random.Next(14) switch
    {
        0 or 1 or 2 => Bytes(ClientStep.Small, random, random.Next(1, 201)),
        3 or 4 => Bytes(ClientStep.Large, random, LargeBytes),
        5 or 6 => Bytes(ClientStep.Urgent, random, 1),
        7 or 8 => Bytes(ClientStep.UrgentBurst, random, random.Next(2, 5)),
        9 or 10 => new ClientAction(ClientStep.UrgentBetween, [(byte)'a', (byte)'b', (byte)'c', (byte)random.Next(256), (byte)'d', (byte)'e', (byte)'f'], 0),
        _ => new ClientAction(ClientStep.PauseReading, [], random.Next(20, 301)),
    };

    private static ClientAction Bytes(ClientStep step, Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return new ClientAction(step, bytes, 0);
    }

    public override string ToString()
    {
        var text = new StringBuilder($"seed {Seed}{(SmallReceiveBuffer ? ", small SO_RCVBUF" : string.Empty)}: ");
        return text.AppendJoin(", ", Actions).ToString();
    }
}
