namespace EchoServer.Program;

/// <summary>The process exit codes, as the README documents them.</summary>
internal static class ExitCodes
{
    /// <summary>Stopped by SIGINT/SIGTERM after an orderly shutdown, or --help/--version.</summary>
    public const int Success = 0;

    /// <summary>The server could not start or failed while running: port in use, permission denied, out of resources.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown option, bad address, bad port, bad number.</summary>
    public const int Usage = Cli.CommandLineRules.UsageExitCode;
}
