using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;

namespace Demi.Hosting;

/// <summary>
/// Reads a running libOS's counters where they already live: the stack's <see cref="InetCounters"/>
/// and TCP statistics per shard, the driver's counters through its provider, the buffer pool, the
/// token table and the shards' mailboxes. Only read when a metrics listener collects or a summary is
/// due; nothing is counted on the per-packet path for it.
/// </summary>
internal static class DemiStatistics
{
    public static readonly DropReason[] DropReasons = Enum.GetValues<DropReason>().Where(r => r != DropReason.None).ToArray();

    public static IEnumerable<(Shard Shard, InetStack Stack)> Stacks(LibOS libOS)
    {
        foreach (var shard in libOS.Shards)
        {
            if (InetBackend.StackOf(shard) is { } stack)
                yield return (shard, stack);
        }
    }

    public static TcpLayer? TcpOf(Shard shard) => InetBackend.HandlerOf(shard) as TcpLayer;

    /// <summary>Every drop by reason: the stack's reasons (snake_case names) and the driver's.</summary>
    public static Dictionary<string, long> Drops(LibOS libOS, IDemiBackendProvider provider)
    {
        var drops = new Dictionary<string, long>();
        foreach (var (_, stack) in Stacks(libOS))
        {
            foreach (var reason in DropReasons)
            {
                long n = stack.Counters[reason];
                if (n != 0)
                    drops[ReasonName(reason)] = drops.GetValueOrDefault(ReasonName(reason)) + n;
            }
        }
        foreach (var (reason, n) in provider.DriverErrors(libOS.Backend))
        {
            if (n != 0)
                drops[reason] = drops.GetValueOrDefault(reason) + n;
        }
        return drops;
    }

    /// <summary>TCP connections of the stack by state, counted on each shard's thread.</summary>
    public static int[] ConnectionsByState(LibOS libOS)
    {
        var counts = new int[Enum.GetValues<TcpState>().Length];
        foreach (var shard in libOS.Shards)
        {
            if (TcpOf(shard) is not { } tcp)
                continue;
            var local = new int[counts.Length];
            if (shard.Invoke(() => { tcp.CountConnectionsByState(local); return 0; }) == 0)
            {
                for (int i = 0; i < counts.Length; i++)
                    counts[i] += local[i];
            }
        }
        return counts;
    }

    private static readonly Dictionary<DropReason, string> Names = Enum.GetValues<DropReason>().ToDictionary(r => r, r => SnakeCase(r.ToString()));

    public static string ReasonName(DropReason reason) => Names[reason];

    public static string StateName(TcpState state) => SnakeCase(state.ToString());

    private static string SnakeCase(string name)
    {
        var chars = new List<char>(name.Length + 4);
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
                chars.Add('_');
            chars.Add(char.ToLowerInvariant(name[i]));
        }
        return new string(chars.ToArray());
    }
}
