using System.Globalization;

namespace Demi.Tests.Shared;

/// <summary>CPU time of one thread of this process, from /proc.</summary>
public static class ThreadCpu
{
    /// <summary>utime + stime of thread <paramref name="tid"/>, in clock ticks (USER_HZ, 100 per second).</summary>
    public static long Ticks(int tid)
    {
        string stat = File.ReadAllText($"/proc/self/task/{tid}/stat");
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}
