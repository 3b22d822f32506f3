namespace EchoBench;

/// <summary>Why a bench connection failed; each has its own counter in the RESULT line.</summary>
internal enum BenchFailure
{
    Connect,
    Reset,
    Eof,
    Short,
    Mismatch,
}
