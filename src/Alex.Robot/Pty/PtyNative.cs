// The C library calls behind a pseudo-terminal (Linux, glibc): posix_openpt(3), grantpt(3),
// unlockpt(3), ptsname_r(3), termios(3) and the plain fd calls. Constants are Linux's (x86-64 and
// arm64 share them); other systems are refused before any of this is called.
using System.Runtime.InteropServices;

namespace Alex.Robot.Pty;

internal static partial class PtyNative
{
    public const int ORdWr = 0x2;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int OCloExec = 0x80000;

    public const int EIntr = 4;
    public const int EIo = 5;
    public const int EAgain = 11;

    public const short PollIn = 0x1;
    public const short PollOut = 0x4;
    public const short PollErr = 0x8;
    public const short PollHup = 0x10;
    public const short PollNval = 0x20;

    public const int TcsaNow = 0;
    public const int TcIoFlush = 2;

    // struct termios is 60 bytes with glibc on Linux; cfmakeraw edits it in place, so an opaque,
    // generously sized buffer is all we need.
    public const int TermiosBufferSize = 256;

    private const string Libc = "libc";

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short REvents;
    }

    [LibraryImport(Libc, EntryPoint = "posix_openpt", SetLastError = true)]
    public static partial int PosixOpenpt(int flags);

    [LibraryImport(Libc, EntryPoint = "grantpt", SetLastError = true)]
    public static partial int Grantpt(int fd);

    [LibraryImport(Libc, EntryPoint = "unlockpt", SetLastError = true)]
    public static partial int Unlockpt(int fd);

    [LibraryImport(Libc, EntryPoint = "ptsname_r", SetLastError = true)]
    public static partial int PtsnameR(int fd, ref byte buffer, nuint length);

    [LibraryImport(Libc, EntryPoint = "tcgetattr", SetLastError = true)]
    public static partial int Tcgetattr(int fd, ref byte termios);

    [LibraryImport(Libc, EntryPoint = "cfmakeraw")]
    public static partial void Cfmakeraw(ref byte termios);

    [LibraryImport(Libc, EntryPoint = "tcsetattr", SetLastError = true)]
    public static partial int Tcsetattr(int fd, int optionalActions, ref byte termios);

    [LibraryImport(Libc, EntryPoint = "tcflush", SetLastError = true)]
    public static partial int Tcflush(int fd, int queueSelector);

    [LibraryImport(Libc, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, ref byte buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, ref byte buffer, nint count);

    [LibraryImport(Libc, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(ref PollFd fds, nuint count, int timeoutMs);

    [LibraryImport(Libc, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
