namespace EchoServer.Reactor.Interop;

internal static partial class Libc
{
    // "libc" is mapped by the runtime to the platform C library. "libc.so" would fail on glibc,
    // where that file is a linker script (dotnet/runtime#57904).
    internal const string Name = "libc";
}
