namespace Demi.Runtime;

/// <summary>
/// A count kept per shard, for handlers that count messages on the shard threads: each shard adds to
/// its own cache line and no core writes a line another one writes, where one shared counter would
/// be a locked write from every core per message. <see cref="Total"/> may be read from any thread.
/// </summary>
public sealed class ShardCounter
{
    // One long per cache line: shard i's count is at index i * Stride.
    private const int Stride = 64 / sizeof(long);

    private readonly long[] _counts;

    /// <summary>A counter for <paramref name="shards"/> shards (<see cref="LibOS.Shards"/>.Count).</summary>
    public ShardCounter(int shards)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        _counts = new long[shards * Stride];
    }

    /// <summary>Adds one to shard <paramref name="shard"/>'s count and returns it. Call it only from that shard's thread.</summary>
    public long Increment(int shard)
    {
        ref long count = ref _counts[shard * Stride];
        long next = count + 1;
        Volatile.Write(ref count, next); // the shard is the only writer: no locked add needed
        return next;
    }

    /// <summary>The sum over all shards.</summary>
    public long Total
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _counts.Length; i += Stride)
                total += Volatile.Read(ref _counts[i]);
            return total;
        }
    }
}
