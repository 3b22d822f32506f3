using System.Runtime.InteropServices;
using EchoServer.Reactor.Interop;

namespace EchoServer.Reactor;

/// <summary>
/// An errno value as the running OS numbers it. The numbers differ per OS (EAGAIN is 11 on Linux and
/// 35 on macOS), so compare through the <c>Is…</c> properties, never against literals.
/// </summary>
/// <param name="Value">The raw errno value; 0 means no error.</param>
public readonly record struct Errno(int Value)
{
    // Copied into static readonly ints so the JIT folds them into the comparisons on the hot path.
    private static readonly int s_eagain = OsConstants.Current.EAGAIN;
    private static readonly int s_eintr = OsConstants.Current.EINTR;
    private static readonly int s_econnreset = OsConstants.Current.ECONNRESET;
    private static readonly int s_epipe = OsConstants.Current.EPIPE;
    private static readonly int s_emfile = OsConstants.Current.EMFILE;
    private static readonly int s_enfile = OsConstants.Current.ENFILE;
    private static readonly int s_enobufs = OsConstants.Current.ENOBUFS;
    private static readonly int s_enomem = OsConstants.Current.ENOMEM;
    private static readonly int s_econnaborted = OsConstants.Current.ECONNABORTED;
    private static readonly int s_eaddrinuse = OsConstants.Current.EADDRINUSE;
    private static readonly int s_eexist = OsConstants.Current.EEXIST;
    private static readonly int s_eacces = OsConstants.Current.EACCES;
    private static readonly int s_eperm = OsConstants.Current.EPERM;
    private static readonly int s_einprogress = OsConstants.Current.EINPROGRESS;
    private static readonly int s_etimedout = OsConstants.Current.ETIMEDOUT;

    /// <summary>No error.</summary>
    public static Errno None => default;

    /// <summary>EAGAIN/EWOULDBLOCK: the operation would block; wait for the next readiness event.</summary>
    public bool IsWouldBlock => Value == s_eagain;

    /// <summary>EINTR: a signal interrupted the call before it did anything.</summary>
    public bool IsInterrupted => Value == s_eintr;

    /// <summary>ECONNRESET or EPIPE: the peer is gone; close quietly.</summary>
    public bool IsPeerGone => Value == s_econnreset || Value == s_epipe;

    /// <summary>
    /// ETIMEDOUT on a connected socket: the kernel gave up on a silent peer (keepalive probes unanswered, or sent bytes
    /// unacknowledged for too long) and dropped the connection.
    /// </summary>
    public bool IsTimedOut => Value == s_etimedout;

    /// <summary>
    /// EMFILE, ENFILE, ENOBUFS or ENOMEM: the process or system is out of descriptors or memory.
    /// Retrying at once would spin; back off.
    /// </summary>
    public bool IsResourceExhausted => Value == s_emfile || Value == s_enfile || Value == s_enobufs || Value == s_enomem;

    /// <summary>ECONNABORTED: a queued connection died before accept(2) took it; accept the next one.</summary>
    public bool IsConnectionAborted => Value == s_econnaborted;

    /// <summary>EADDRINUSE: another socket holds the address.</summary>
    public bool IsAddressInUse => Value == s_eaddrinuse;

    /// <summary>EEXIST: something is already at the path (for a unix socket: a file that is not a socket).</summary>
    public bool IsAlreadyExists => Value == s_eexist;

    /// <summary>EACCES or EPERM: not allowed (for example a port below 1024 without the capability).</summary>
    public bool IsPermissionDenied => Value == s_eacces || Value == s_eperm;

    /// <summary>EINPROGRESS: a non-blocking connect(2) has started; wait for writability.</summary>
    public bool IsInProgress => Value == s_einprogress;

    /// <summary>
    /// errno, read right after a call that reported failure by its return value. The imports do not use
    /// <c>SetLastError = true</c>, which costs two extra native calls per call (docs/design.md, "errno").
    /// </summary>
    internal static Errno Last => new(Marshal.GetLastSystemError());

    /// <summary>The OS's own text for this errno (strerror), e.g. "Address already in use".</summary>
    public string Message => Marshal.GetPInvokeErrorMessage(Value);

    /// <inheritdoc/>
    public override string ToString() => $"{Message} (errno {Value})";
}
