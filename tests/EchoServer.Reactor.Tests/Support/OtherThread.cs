namespace EchoServer.Reactor.Tests.Support;

/// <summary>A dedicated background thread (not the thread pool, which a busy test run may starve) whose failure the test sees.</summary>
internal sealed class OtherThread
{
    private readonly Thread _thread;
    private Exception? _error;

    private OtherThread(Action action)
    {
        _thread = new Thread(() =>
        {
            try
            {
                action();
            }
#pragma warning disable CA1031 // Handed to the test thread by Join.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _error = ex;
            }
        })
        {
            IsBackground = true,
            Name = "test helper",
        };
    }

    public static OtherThread Start(Action action)
    {
        var t = new OtherThread(action);
        t._thread.Start();
        return t;
    }

    /// <summary>Waits for the thread (failing after <paramref name="timeout"/>) and rethrows what it threw.</summary>
    public void Join(TimeSpan? timeout = null)
    {
        var limit = timeout ?? Patience.Short;
        if (!_thread.Join(limit))
        {
            Assert.Fail($"The helper thread did not finish within {limit}.");
        }

        if (_error is not null)
        {
            throw new InvalidOperationException("The helper thread failed.", _error);
        }
    }
}
