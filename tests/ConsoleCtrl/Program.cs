using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace EchoServer.ConsoleCtrl;

/// <summary>
/// <c>consolectrl program [args…]</c>: runs the program as its child, passes on its output line by line, and for each line
/// on its own standard input delivers a console control event to the child as Windows' console host does, a thread in
/// the child at kernel32's <c>CtrlRoutine</c> with the event as its argument: <c>close</c> is CTRL_CLOSE_EVENT, after which
/// the child is ended as Windows ends it (when its handler returns, or 5 s after the event); <c>break</c> is
/// CTRL_BREAK_EVENT. Exits with the child's exit code. Wine 8's console delivers neither event (only Ctrl+C, from SIGINT).
/// </summary>
internal static partial class Program
{
    private const int CtrlBreakEvent = 1;
    private const int CtrlCloseEvent = 2;

    /// <summary>STATUS_CONTROL_C_EXIT (ntstatus.h): the code Windows gives a process it ends for a console event.</summary>
    private const uint StatusControlCExit = 0xC000013A;

    /// <summary>How long Windows lets a process run after CTRL_CLOSE_EVENT.</summary>
    private static readonly TimeSpan CloseLimit = TimeSpan.FromSeconds(5);

    /// <summary>What Wine's CtrlRoutine returns once the handlers have run (kernelbase console.c).</summary>
    private const uint CtrlRoutineReturned = 1;

    public static int Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: consolectrl program [args...]; then 'close' or 'break' on standard input");
            return 2;
        }

        var info = new ProcessStartInfo(args[0]) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args[1..])
        {
            info.ArgumentList.Add(arg);
        }

        using var child = new Process { StartInfo = info };
        child.OutputDataReceived += (_, e) => Pass(Console.Out, e.Data);
        child.ErrorDataReceived += (_, e) => Pass(Console.Error, e.Data);
        child.Start();
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        new Thread(() => ReadCommands(child)) { IsBackground = true, Name = "commands" }.Start();
        child.WaitForExit();
        return child.ExitCode;
    }

    private static void Pass(TextWriter to, string? line)
    {
        if (line is not null)
        {
            to.WriteLine(line);
        }
    }

    private static void ReadCommands(Process child)
    {
        while (Console.In.ReadLine() is { } line)
        {
            switch (line.Trim())
            {
                case "break":
                    Deliver(child, CtrlBreakEvent).Dispose();
                    break;
                case "close":
                    using (var handler = Deliver(child, CtrlCloseEvent))
                    {
                        EndAsWindowsDoes(child, handler);
                    }

                    break;
                default:
                    Console.Error.WriteLine($"consolectrl: unknown command '{line}' (close, break)");
                    break;
            }
        }
    }

    /// <summary>Starts the child's handlers for <paramref name="ctrlEvent"/> on a thread of its own; the thread's handle.</summary>
    private static NativeWaitHandle Deliver(Process child, int ctrlEvent)
    {
        var routine = NativeLibrary.GetExport(NativeLibrary.Load("kernel32.dll"), "CtrlRoutine");
        var thread = CreateRemoteThread(child.Handle, 0, 0, routine, ctrlEvent, 0, 0);
        if (thread == 0)
        {
            throw new InvalidOperationException($"CreateRemoteThread in pid {child.Id} failed: error {Marshal.GetLastPInvokeError()}");
        }

        Console.Error.WriteLine($"consolectrl: delivered console event {ctrlEvent} to pid {child.Id}");
        return new NativeWaitHandle(new SafeWaitHandle(thread, ownsHandle: true));
    }

    /// <summary>After CTRL_CLOSE_EVENT: the child ends by itself while its handler holds it, or is ended as Windows would end it.</summary>
    private static void EndAsWindowsDoes(Process child, NativeWaitHandle handler)
    {
        using var exited = new NativeWaitHandle(new SafeWaitHandle(child.Handle, ownsHandle: false));
        var clock = Stopwatch.StartNew();
        var first = WaitHandle.WaitAny([exited, handler], CloseLimit);
        if (first == 1 && GetExitCodeThread(handler.SafeWaitHandle.DangerousGetHandle(), out var code) && code != CtrlRoutineReturned)
        {
            // The handler did not return: the process's exit ended its thread (with the process's exit code) and ends the process.
            var left = CloseLimit - clock.Elapsed;
            first = exited.WaitOne(left > TimeSpan.Zero ? left : TimeSpan.Zero) ? 0 : WaitHandle.WaitTimeout;
        }

        if (first == 0)
        {
            return;
        }

        Console.Error.WriteLine(first == 1
            ? "consolectrl: the close handler returned while the process ran; ending it as Windows does"
            : $"consolectrl: the process still ran {CloseLimit.TotalSeconds} s after CTRL_CLOSE_EVENT; ending it as Windows does");
        _ = TerminateProcess(child.Handle, StatusControlCExit);
    }

    // HANDLE CreateRemoteThread(HANDLE hProcess, LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
    //   LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter, DWORD dwCreationFlags, LPDWORD lpThreadId);
    [LibraryImport("kernel32.dll", SetLastError = true)]
    private static partial nint CreateRemoteThread(nint process, nint attributes, nuint stackSize, nint start, nint parameter, uint flags, nint threadId);

    // BOOL GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode);
    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool GetExitCodeThread(nint thread, out uint code);

    // BOOL TerminateProcess(HANDLE hProcess, UINT uExitCode);
    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool TerminateProcess(nint process, uint exitCode);

    /// <summary>A native handle (a thread's, a process's) to wait on.</summary>
    private sealed class NativeWaitHandle : WaitHandle
    {
        public NativeWaitHandle(SafeWaitHandle handle)
        {
            SafeWaitHandle = handle;
        }
    }
}
