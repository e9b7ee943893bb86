using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Internal;

namespace Demi.Buffers;

/// <summary>
/// A fixed set of equal-sized buffers in one pinned native region (the process heap, or a NIC's
/// memory such as an AF_XDP UMEM), handed out by index with a reference count. Renting and
/// returning are lock-free and allocation-free so that any thread (app or shard) may use them on
/// the per-packet path.
/// </summary>
/// <remarks>
/// The shared free list is one compare-and-swap word. So that shards do not all write it per packet,
/// each shard thread keeps a small cache of free indices in front of it (refilled and spilled in
/// halves): a buffer rented and released on the same shard never touches the shared list. App threads
/// use the shared list directly. <see cref="Available"/> counts cached buffers too.
/// </remarks>
public sealed unsafe class BufferPool : IDisposable
{
    private const int Empty = IndexStack.Empty;
    // A shard caches at most this many free buffers, and at most one per this many in the pool, so a
    // small pool is not stranded in the caches of shards that do not use it.
    private const int MaxCachedPerShard = 32;
    private const int BuffersPerCachedBuffer = 64;

    [ThreadStatic]
    private static ShardCache[]? t_caches;

    private readonly byte* _region;
    private readonly bool _ownsRegion;
    private readonly IndexStack _free;
    // One cache line per buffer: buffers owned by different shards sit side by side in the pool, and
    // their reference counts are written on every push and free.
    private readonly BufferState[] _states;
    private readonly int _cacheCapacity;
    private ShardCache[] _caches = [];
    private long _exhaustions;
    private int _disposed;

    /// <summary>Allocates a pool of <paramref name="count"/> buffers of <paramref name="bufferSize"/> bytes in pinned native memory.</summary>
    public BufferPool(int bufferSize, int count, int headroom)
        : this((nint)NativeMemory.AlignedAlloc(checked((nuint)bufferSize * (nuint)count), 4096), bufferSize, count, headroom, ownsRegion: true)
    {
    }

    /// <summary>Wraps an existing native region (for example an AF_XDP UMEM) of <paramref name="count"/> buffers.</summary>
    public BufferPool(nint region, int bufferSize, int count, int headroom, bool ownsRegion = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(headroom);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(headroom, bufferSize);
        if (region == 0)
            throw new ArgumentNullException(nameof(region));
        _region = (byte*)region;
        _ownsRegion = ownsRegion;
        BufferSize = bufferSize;
        Count = count;
        Headroom = headroom;
        _free = new IndexStack(count, full: true);
        _states = new BufferState[count];
        BufferRegions.Add(region, (long)bufferSize * count);
        int cacheCapacity = Math.Min(MaxCachedPerShard, count / BuffersPerCachedBuffer);
        _cacheCapacity = cacheCapacity >= 2 ? cacheCapacity : 0; // refills and spills move halves
    }

    /// <summary>Start of the native region.</summary>
    public nint BaseAddress => (nint)_region;

    /// <summary>Size of each buffer in bytes, headroom included.</summary>
    public int BufferSize { get; }

    /// <summary>Number of buffers.</summary>
    public int Count { get; }

    /// <summary>Bytes kept free in front of data so that protocol headers can be prepended in place.</summary>
    public int Headroom { get; }

    /// <summary>Largest payload one buffer holds after the headroom.</summary>
    public int Capacity => BufferSize - Headroom;

    /// <summary>Buffers currently free.</summary>
    public int Available
    {
        get
        {
            int available = _free.Count;
            foreach (var cache in Volatile.Read(ref _caches))
                available += Volatile.Read(ref cache.Count);
            return available;
        }
    }

    /// <summary>How many times a rent found the pool empty.</summary>
    public long Exhaustions => Volatile.Read(ref _exhaustions);

    /// <summary>Takes a free buffer with a reference count of 1; false when the pool is empty.</summary>
    public bool TryRent(out int index)
    {
        var cache = CacheOfCurrentShard();
        if (cache is not null)
        {
            if (cache.Count == 0)
                cache.Refill(_free);
            if (cache.Count > 0)
            {
                index = cache.Pop();
                _states[index].Generation++;
                Volatile.Write(ref _states[index].RefCount, 1);
                return true;
            }
        }
        if (!_free.TryPop(out index))
        {
            Interlocked.Increment(ref _exhaustions);
            return false;
        }
        _states[index].Generation++;
        Volatile.Write(ref _states[index].RefCount, 1);
        return true;
    }

    /// <summary>Adds a reference to a rented buffer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddRef(int index)
    {
        int after = Interlocked.Increment(ref _states[index].RefCount);
        if (after <= 1)
            ThrowReleased(index);
    }

    /// <summary>Drops a reference; the buffer returns to the pool when the last one goes. Returns true if it did.</summary>
    public bool Release(int index)
    {
        int after = Interlocked.Decrement(ref _states[index].RefCount);
        if (after > 0)
            return false;
        if (after < 0)
        {
            Interlocked.Increment(ref _states[index].RefCount);
            ThrowReleased(index);
        }
        var cache = CacheOfCurrentShard();
        if (cache is null)
            _free.Push(index);
        else
            cache.Push(index, _free);
        return true;
    }

    // The calling shard thread's cache for this pool (created on first use); null on app threads.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ShardCache? CacheOfCurrentShard()
    {
        if (_cacheCapacity == 0)
            return null;
        var caches = t_caches;
        if (caches is not null)
        {
            foreach (var cache in caches)
            {
                if (cache.Pool == this)
                    return cache;
            }
        }
        return Runtime.Shard.Current is null ? null : CreateCache();
    }

    private ShardCache CreateCache()
    {
        var cache = new ShardCache(this, _cacheCapacity);
        t_caches = [.. t_caches ?? [], cache];
        lock (_free)
            Volatile.Write(ref _caches, [.. _caches, cache]);
        return cache;
    }

    /// <summary>Gives the calling thread's cached buffers back to their pools (a shard calls this as it stops).</summary>
    internal static void ReturnThreadCaches()
    {
        var caches = t_caches;
        t_caches = null;
        if (caches is null)
            return;
        foreach (var cache in caches)
        {
            var pool = cache.Pool;
            cache.SpillAll(pool._free);
            lock (pool._free)
                Volatile.Write(ref pool._caches, pool._caches.Where(c => c != cache).ToArray());
        }
    }

    /// <summary>The current reference count of a buffer (0 when free).</summary>
    public int RefCount(int index) => Volatile.Read(ref _states[index].RefCount);

    /// <summary>Address of the first byte of buffer <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Pointer(int index) => _region + (long)index * BufferSize;

    /// <summary>
    /// The <see cref="Sga.Handle"/> of buffer <paramref name="index"/> for its current owner: an address
    /// inside the buffer that also encodes how many times it was rented (modulo <see cref="BufferSize"/>),
    /// so a handle kept from an earlier owner does not resolve (a stale free is EINVAL, not the new owner's loss).
    /// </summary>
    public nint HandleOf(int index) => (nint)(Pointer(index) + (uint)Volatile.Read(ref _states[index].Generation) % (uint)BufferSize);

    /// <summary>Offset of buffer <paramref name="index"/> from the region start (the UMEM "address").</summary>
    public long OffsetOf(int index) => (long)index * BufferSize;

    /// <summary>Whether <paramref name="address"/> lies inside this pool's region.</summary>
    public bool Contains(nint address) => (byte*)address >= _region && (byte*)address < _region + (long)Count * BufferSize;

    /// <summary>The index of the buffer holding <paramref name="address"/>; -1 if outside the region.</summary>
    public int IndexOf(nint address)
        => Contains(address) ? (int)(((byte*)address - _region) / BufferSize) : Empty;

    /// <summary>The whole buffer <paramref name="index"/>, headroom included.</summary>
    public Span<byte> Whole(int index) => new(Pointer(index), BufferSize);

    /// <summary>One shard thread's free indices for one pool; only that thread touches <see cref="Items"/>.</summary>
    private sealed class ShardCache
    {
        public readonly BufferPool Pool;
        public readonly int[] Items;
        // Written by the owning thread, read by Available from any thread.
        public int Count;

        public ShardCache(BufferPool pool, int capacity)
        {
            Pool = pool;
            Items = new int[capacity];
        }

        public int Pop()
        {
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
            // Count first, so Available never counts a buffer twice while it moves.
            int count = Count;
            Volatile.Write(ref Count, count - howMany);
            shared.PushMany(Items.AsSpan(count - howMany, howMany));
        }
    }

    private static void ThrowReleased(int index)
        => throw new InvalidOperationException($"Buffer {index} was already returned to its pool (double free or use after free).");

    /// <summary>Frees the native region if the pool allocated it (a wrapped region stays its owner's); idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        BufferRegions.Remove((nint)_region);
        if (_ownsRegion)
            NativeMemory.AlignedFree(_region);
    }

    [StructLayout(LayoutKind.Explicit, Size = 64)]
    private struct BufferState
    {
        [FieldOffset(0)] public int RefCount;

        // Bumped on every rent, so a handle from an earlier owner of the buffer no longer matches (HandleOf).
        [FieldOffset(4)] public int Generation;
    }
}
