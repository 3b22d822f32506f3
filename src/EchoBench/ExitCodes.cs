namespace EchoBench;

/// <summary>echobench's exit codes, as docs/bench-tool.md documents them.</summary>
internal static class ExitCodes
{
    /// <summary>Every connection got back every byte it sent, in order.</summary>
    public const int Success = 0;

    /// <summary>A byte was wrong or missing, a connection failed, or the event loop could not be created.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong.</summary>
    public const int Usage = EchoServer.Cli.CommandLineRules.UsageExitCode;
}
