using System.Runtime.InteropServices;

namespace Demi.Native;

/// <summary>Linux x86-64 <c>struct timespec</c> (16 bytes): the relative timeout of the wait calls.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct Timespec
{
    /// <summary>Whole seconds.</summary>
    public long Seconds;

    /// <summary>Nanoseconds, 0 to 999,999,999.</summary>
    public long Nanoseconds;

    // Beyond this a deadline in Stopwatch ticks would overflow; such a timeout is as good as forever.
    private const long ForeverSeconds = 100L * 365 * 24 * 3600;

    /// <summary>
    /// Converts a C timeout pointer: NULL is forever (null), zero polls once, anything else is rounded up
    /// to the next 100 ns tick. Negative fields or nanoseconds of a second or more are EINVAL.
    /// </summary>
    public static unsafe int ToTimeout(Timespec* timespec, out TimeSpan? timeout)
    {
        timeout = null;
        if (timespec is null)
            return 0;
        long seconds = timespec->Seconds, nanoseconds = timespec->Nanoseconds;
        if (seconds < 0 || nanoseconds < 0 || nanoseconds >= 1_000_000_000)
            return Errno.EINVAL;
        if (seconds >= ForeverSeconds)
            return 0;
        timeout = TimeSpan.FromTicks(seconds * TimeSpan.TicksPerSecond + (nanoseconds + 99) / 100);
        return 0;
    }
}
