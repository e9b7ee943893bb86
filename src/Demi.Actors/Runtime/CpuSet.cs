using Demi.Internal.Native;

namespace Demi.Runtime;

/// <summary>A set of CPU cores written like the kernel's cpulist format: "1", "0-1", "0,2-3".</summary>
public static class CpuSet
{
    /// <summary>Parses and validates a CPU list against the cores this process may run on.</summary>
    /// <exception cref="ArgumentException">The text is malformed or names a core that does not exist here.</exception>
    public static int[] Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var cores = new SortedSet<int>();
        foreach (var rawPart in text.Split(','))
        {
            var part = rawPart.Trim();
            var dash = part.IndexOf('-');
            if (dash < 0)
            {
                cores.Add(ParseCore(part, text));
                continue;
            }
            int first = ParseCore(part[..dash], text), last = ParseCore(part[(dash + 1)..], text);
            if (last < first)
                throw new ArgumentException($"CPU list '{text}': range '{part}' runs backwards.", nameof(text));
            for (int core = first; core <= last; core++)
                cores.Add(core);
        }
        var allowed = AllowedCores();
        foreach (var core in cores)
        {
            if (!allowed.Contains(core))
                throw new ArgumentException(
                    $"CPU list '{text}' names core {core}, which does not exist or is not available to this process (available: {Format(allowed)}).",
                    nameof(text));
        }
        return [.. cores];
    }

    /// <summary>The cores this process may run on (sched_getaffinity).</summary>
    public static unsafe IReadOnlyCollection<int> AllowedCores()
    {
        const int Words = 16; // 1024 CPUs
        ulong* mask = stackalloc ulong[Words];
        if (Libc.sched_getaffinity(0, Words * sizeof(ulong), mask) != 0)
            return Enumerable.Range(0, Environment.ProcessorCount).ToArray();
        var result = new List<int>();
        for (int i = 0; i < Words * 64; i++)
        {
            if ((mask[i / 64] & (1UL << (i % 64))) != 0)
                result.Add(i);
        }
        return result;
    }

    /// <summary>Pins the calling thread to one core.</summary>
    public static unsafe int PinCurrentThread(int core)
    {
        const int Words = 16;
        ulong* mask = stackalloc ulong[Words];
        for (int i = 0; i < Words; i++)
            mask[i] = 0;
        mask[core / 64] |= 1UL << (core % 64);
        return Libc.sched_setaffinity(0, Words * sizeof(ulong), mask) == 0 ? 0 : Libc.LastErrno;
    }

    /// <summary>Formats cores as a CPU list ("0-1,3").</summary>
    public static string Format(IEnumerable<int> cores)
    {
        var sorted = cores.Order().ToArray();
        var parts = new List<string>();
        for (int i = 0; i < sorted.Length;)
        {
            int j = i;
            while (j + 1 < sorted.Length && sorted[j + 1] == sorted[j] + 1)
                j++;
            parts.Add(i == j ? $"{sorted[i]}" : $"{sorted[i]}-{sorted[j]}");
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    private static int ParseCore(string part, string text)
    {
        if (!int.TryParse(part.Trim(), out var core) || core < 0)
            throw new ArgumentException($"CPU list '{text}': '{part}' is not a core number.", nameof(text));
        return core;
    }
}
