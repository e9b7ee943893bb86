using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Demi.Internal;

/// <summary>
/// A free list of indices [0, capacity) that any thread may pop and push, with a small cache per shard
/// thread in front of the shared <see cref="IndexStack"/>: an index taken and given back on the same
/// shard never touches the shared head, the one word every core would otherwise write per operation.
/// App threads use the shared list directly.
/// </summary>
/// <remarks>
/// Caches are refilled and spilled in halves (one compare-and-swap each). A cache holds at most
/// <see cref="MaxCachedPerShard"/> indices and at most one per <see cref="IndicesPerCachedIndex"/> in the
/// list, so a small list is not stranded in the caches of shards that do not use it; what the caches
/// hold still counts in <see cref="Count"/>. A shard gives its cache back as it stops
/// (<see cref="ReturnThreadCaches"/>).
/// </remarks>
internal sealed class ShardCachedFreeList
{
    public const int Empty = IndexStack.Empty;
    public const int MaxCachedPerShard = 32;
    public const int IndicesPerCachedIndex = 64;

    [ThreadStatic]
    private static ThreadCache[]? t_caches;

    private readonly IndexStack _shared;
    private readonly int _cacheCapacity;
    // Every live cache, for Count; replaced (copy on write) under _cachesGate when a shard starts or stops using the list.
    private ThreadCache[] _caches = [];
    private readonly object _cachesGate = new();

    /// <summary>A list of indices [0, <paramref name="capacity"/>), all of them free.</summary>
    public ShardCachedFreeList(int capacity)
    {
        _shared = new IndexStack(capacity, full: true);
        int cacheCapacity = Math.Min(MaxCachedPerShard, capacity / IndicesPerCachedIndex);
        _cacheCapacity = cacheCapacity >= 2 ? cacheCapacity : 0; // refills and spills move halves
    }

    /// <summary>Free indices, those in shard caches included.</summary>
    public int Count
    {
        get
        {
            int count = _shared.Count;
            foreach (var cache in Volatile.Read(ref _caches))
                count += Volatile.Read(ref cache.Count);
            return count;
        }
    }

    /// <summary>Free indices in the shared list alone (what an app thread or an empty cache can get).</summary>
    public int SharedCount => _shared.Count;

    /// <summary>Takes a free index; false when neither the calling shard's cache nor the shared list has one.</summary>
    public bool TryPop(out int index)
    {
        var cache = CacheOfCurrentShard();
        if (cache is not null)
        {
            if (cache.Count == 0)
                cache.Refill(_shared);
            if (cache.Count > 0)
            {
                index = cache.Pop();
                return true;
            }
        }
        return _shared.TryPop(out index);
    }

    /// <summary>Gives <paramref name="index"/> back (to the calling shard's cache, else the shared list).</summary>
    public void Push(int index)
    {
        var cache = CacheOfCurrentShard();
        if (cache is null)
            _shared.Push(index);
        else
            cache.Push(index, _shared);
    }

    /// <summary>Gives the calling thread's cached indices back to their lists (a shard calls this as it stops).</summary>
    public static void ReturnThreadCaches()
    {
        var caches = t_caches;
        t_caches = null;
        if (caches is null)
            return;
        foreach (var cache in caches)
        {
            var list = cache.List;
            cache.SpillAll(list._shared);
            lock (list._cachesGate)
                Volatile.Write(ref list._caches, list._caches.Where(c => c != cache).ToArray());
        }
    }

    // The calling shard thread's cache for this list (created on first use); null on app threads.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ThreadCache? CacheOfCurrentShard()
    {
        if (_cacheCapacity == 0)
            return null;
        var caches = t_caches;
        if (caches is not null)
        {
            foreach (var cache in caches)
            {
                if (cache.List == this)
                    return cache;
            }
        }
        return Runtime.Shard.Current is null ? null : CreateCache();
    }

    private ThreadCache CreateCache()
    {
        var cache = new ThreadCache(this, _cacheCapacity);
        t_caches = [.. t_caches ?? [], cache];
        lock (_cachesGate)
            Volatile.Write(ref _caches, [.. _caches, cache]);
        return cache;
    }

    /// <summary>One shard thread's free indices for one list; only that thread touches <see cref="Items"/>.</summary>
    private sealed class ThreadCache
    {
        public readonly ShardCachedFreeList List;
        public readonly int[] Items;
        // Written by the owning thread, read by Count from any thread.
        public int Count;

        public ThreadCache(ShardCachedFreeList list, int capacity)
        {
            List = list;
            Items = new int[capacity];
        }

        public int Pop()
        {
            Debug.Assert(Count > 0);
            int index = Items[Count - 1];
            Volatile.Write(ref Count, Count - 1);
            return index;
        }

        public void Push(int index, IndexStack shared)
        {
            if (Count == Items.Length)
                Spill(shared, Items.Length / 2);
            Items[Count] = index;
            Volatile.Write(ref Count, Count + 1);
        }

        public void Refill(IndexStack shared)
        {
            // One compare-and-swap for the whole half: the shared head is the line other shards write too.
            int count = Count;
            count += shared.TryPopMany(Items.AsSpan(count, Math.Max(0, Items.Length / 2 - count)));
            Volatile.Write(ref Count, count);
        }

        public void SpillAll(IndexStack shared) => Spill(shared, Count);

        private void Spill(IndexStack shared, int howMany)
        {
            // Count first, so the list's Count never counts an index twice while it moves.
            int count = Count;
            Volatile.Write(ref Count, count - howMany);
            shared.PushMany(Items.AsSpan(count - howMany, howMany));
        }
    }
}
