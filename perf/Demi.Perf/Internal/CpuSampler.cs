using System.Globalization;

namespace Demi.Perf.Internal;

/// <summary>Busy fraction of given cores between two <c>/proc/stat</c> readings (all namespaces share it).</summary>
internal sealed class CpuSampler
{
    private readonly int[] _cores;
    private (long Busy, long Total)[] _start;

    public CpuSampler(params int[] cores)
    {
        _cores = cores;
        _start = Read();
    }

    public void Restart() => _start = Read();

    /// <summary>Busy fraction (0..1) of each core since the last (re)start.</summary>
    public double[] Busy()
    {
        var now = Read();
        var r = new double[_cores.Length];
        for (int i = 0; i < r.Length; i++)
        {
            long total = now[i].Total - _start[i].Total;
            r[i] = total <= 0 ? 0 : (double)(now[i].Busy - _start[i].Busy) / total;
        }
        return r;
    }

    private (long Busy, long Total)[] Read()
    {
        var lines = File.ReadAllLines("/proc/stat");
        var r = new (long Busy, long Total)[_cores.Length];
        for (int i = 0; i < _cores.Length; i++)
        {
            string prefix = "cpu" + _cores[i].ToString(CultureInfo.InvariantCulture) + " ";
            var line = lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (line is null)
                continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            long idle = f[3] + (f.Length > 4 ? f[4] : 0); // idle + iowait
            long total = f.Take(8).Sum();                  // user..steal (guest is inside user)
            r[i] = (total - idle, total);
        }
        return r;
    }

    /// <summary>Clock ticks per second of /proc's CPU times (USER_HZ).</summary>
    public const double TicksPerSecond = 100;

    /// <summary>utime + stime of process <paramref name="pid"/> (fields 14 and 15 of /proc/PID/stat), in clock ticks.</summary>
    public static long ProcessTicks(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
    }
}
