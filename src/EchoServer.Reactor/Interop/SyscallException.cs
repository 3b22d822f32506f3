namespace EchoServer.Reactor;

/// <summary>A system call failed in a way the caller cannot handle locally.</summary>
public sealed class SyscallException : IOException
{
    /// <summary>Creates the exception for a failed <paramref name="call"/>.</summary>
    public SyscallException(string call, Errno errno)
        : base($"{call} failed: {errno}")
    {
        Call = call;
        Errno = errno;
        HResult = errno.Value;
    }

    /// <summary>Creates an exception with a message only (for serializers and analyzers).</summary>
    public SyscallException()
        : this("syscall", Errno.None)
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    public SyscallException(string message)
        : base(message)
    {
        Call = string.Empty;
    }

    /// <summary>Creates an exception with a message and an inner exception.</summary>
    public SyscallException(string message, Exception innerException)
        : base(message, innerException)
    {
        Call = string.Empty;
    }

    /// <summary>Throws for <paramref name="call"/> unless <paramref name="errno"/> is <see cref="Errno.None"/>.</summary>
    internal static void ThrowIfError(string call, Errno errno)
    {
        if (errno.Value != 0)
        {
            throw new SyscallException(call, errno);
        }
    }

    /// <summary>The name of the failed call, e.g. "epoll_ctl(ADD)".</summary>
    public string Call { get; }

    /// <summary>The errno it returned.</summary>
    public Errno Errno { get; }
}
