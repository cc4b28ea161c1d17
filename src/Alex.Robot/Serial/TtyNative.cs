// The C library calls behind a serial port opened by hand (Linux, glibc): open(2), flock(2),
// ioctl(2) TIOCEXCL / TIOCMBIS / TIOCMBIC, termios(3) speeds, pipe2(2). Constants are Linux's (x86-64 and
// arm64 share them); the termios layout and the rest of the fd calls are PtyNative's.
using System.Runtime.InteropServices;

namespace Alex.Robot.Serial;

internal static partial class TtyNative
{
    public const int ENoEnt = 2;
    public const int ENxio = 6;
    public const int EAcces = 13;
    public const int EBusy = 16;
    public const int ENoDev = 19;
    public const int EWouldBlock = 11;

    public const int LockEx = 2;
    public const int LockNb = 4;

    public const nuint TiocExcl = 0x540C;
    public const nuint TiocMBis = 0x5416;
    public const nuint TiocMBic = 0x5417;
    public const int TiocMDtr = 0x002;

    // struct termios (glibc, Linux): c_iflag 0, c_oflag 4, c_cflag 8, c_lflag 12, c_line 16, c_cc[32] 17.
    public const int CFlagOffset = 8;
    public const int CcOffset = 17;
    public const int VTime = 5;
    public const int VMin = 6;
    public const uint CRead = 0x80;
    public const uint HupCl = 0x400;
    public const uint CLocal = 0x800;
    public const uint CrtsCts = 0x80000000;

    private const string Libc = "libc";

    /// <summary>The termios speed constant for a baud rate (Linux Bxxx values), or null when the kernel has none.</summary>
    public static uint? SpeedOf(int baud) => baud switch
    {
        1200 => 0x9,
        2400 => 0xB,
        4800 => 0xC,
        9600 => 0xD,
        19200 => 0xE,
        38400 => 0xF,
        57600 => 0x1001,
        115200 => 0x1002,
        230400 => 0x1003,
        460800 => 0x1004,
        500000 => 0x1005,
        576000 => 0x1006,
        921600 => 0x1007,
        1000000 => 0x1008,
        1152000 => 0x1009,
        1500000 => 0x100A,
        2000000 => 0x100B,
        _ => null,
    };

    [LibraryImport(Libc, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Libc, EntryPoint = "flock", SetLastError = true)]
    public static partial int Flock(int fd, int operation);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, ref int argument);

    [LibraryImport(Libc, EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, nint argument);

    [LibraryImport(Libc, EntryPoint = "cfsetispeed", SetLastError = true)]
    public static partial int Cfsetispeed(ref byte termios, uint speed);

    [LibraryImport(Libc, EntryPoint = "cfsetospeed", SetLastError = true)]
    public static partial int Cfsetospeed(ref byte termios, uint speed);

    [LibraryImport(Libc, EntryPoint = "pipe2", SetLastError = true)]
    public static partial int Pipe2(ref int fds, int flags);
}
