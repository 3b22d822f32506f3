using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor.Pollers;

/// <summary>One socket registered with an <see cref="AfdPoller"/>; all of it is guarded by the poller's lock.</summary>
internal sealed unsafe class AfdRegistration(AfdPoller poller, nint socket, nint baseHandle, Token token, Interest interest)
{
    public AfdPoller Poller { get; } = poller;

    /// <summary>The socket as registered (the key of the would-block lookup).</summary>
    public nint Socket { get; } = socket;

    /// <summary>The base provider's handle afd.sys polls (SIO_BASE_HANDLE).</summary>
    public nint BaseHandle { get; } = baseHandle;

    public Token Token { get; set; } = token;

    public Interest Interest { get; set; } = interest;

    /// <summary>
    /// Edge-triggered only: the AFD events reported since the owner last hit would-block in their direction. They are left
    /// out of the next poll, so a condition that still holds is not reported again (afd.sys reports levels).
    /// </summary>
    public uint Reported { get; set; }

    /// <summary>The poll in flight for this registration, or null; one that was superseded is not this.</summary>
    public AfdPollOperation* Current { get; set; }

    /// <summary>The events <see cref="Current"/> asked for.</summary>
    public uint CurrentEvents { get; set; }

    /// <summary>Deregistered, closed, or its poller disposed: its completions are dropped.</summary>
    public bool Deleted { get; set; }

    /// <summary>Queued to be armed again at the start of the next wait (after it reported an event).</summary>
    public bool RearmQueued { get; set; }

    public bool IsLevelTriggered => (Interest & Interest.LevelTriggered) != 0;

    /// <summary>The events to poll for: the interest less what was reported and not yet re-armed.</summary>
    public uint WantedEvents => AfdEvents.For(Interest) & ~Reported;
}

/// <summary>
/// One IOCTL_AFD_POLL request's memory: the status block and poll info the kernel writes when it completes. It lives in
/// native memory (it must not move) from submission until its completion is dequeued from the port, whatever happened to
/// the registration in between; only then is it freed.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct AfdPollOperation
{
    public IoStatusBlock IoStatus;
    public AfdPollInfo Info;

    public static AfdPollOperation* Allocate(nint baseHandle, uint events)
    {
        var op = (AfdPollOperation*)NativeMemory.AllocZeroed((nuint)sizeof(AfdPollOperation));
        op->Info.Timeout = long.MaxValue;
        op->Info.NumberOfHandles = 1;
        op->Info.Handle0.Handle = baseHandle;
        op->Info.Handle0.Events = events;
        return op;
    }

    /// <summary>What the completed request reported: its events, or <see cref="AfdConstants.AFD_POLL_CONNECT_FAIL"/> when the request itself failed.</summary>
    public readonly uint ResultEvents =>
        IoStatus.Status < 0 ? AfdConstants.AFD_POLL_CONNECT_FAIL
        : Info.NumberOfHandles < 1 ? 0
        : Info.Handle0.Events;
}
