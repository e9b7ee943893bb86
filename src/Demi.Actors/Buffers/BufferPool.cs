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
/// each shard thread keeps a small cache of free indices in front of it (<see cref="ShardCachedFreeList"/>):
/// a buffer rented and released on the same shard never touches the shared list. App threads use the
/// shared list directly. <see cref="Available"/> counts cached buffers too.
/// </remarks>
public sealed unsafe class BufferPool : IDisposable
{
    private const int Empty = IndexStack.Empty;

    private readonly byte* _region;
    private readonly bool _ownsRegion;
    private readonly ShardCachedFreeList _free;
    // One cache line per buffer: buffers owned by different shards sit side by side in the pool, and
    // their reference counts are written on every push and free.
    private readonly BufferState[] _states;
    private long _exhaustions;
    private int _disposed;
    // ceil(2^64 / BufferSize), for IndexOf; 0 when the region is too large for it to be exact.
    private readonly ulong _divideMultiplier;

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
        if ((ulong)bufferSize * (ulong)count <= uint.MaxValue)
            _divideMultiplier = ulong.MaxValue / (uint)bufferSize + 1;
        Headroom = headroom;
        _free = new ShardCachedFreeList(count);
        _states = new BufferState[count];
        BufferRegions.Add(region, (long)bufferSize * count);
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
    public int Available => _free.Count;

    /// <summary>How many times a rent found the pool empty.</summary>
    public long Exhaustions => Volatile.Read(ref _exhaustions);

    /// <summary>Takes a free buffer with a reference count of 1; false when the pool is empty.</summary>
    public bool TryRent(out int index)
    {
        if (!_free.TryPop(out index))
        {
            Interlocked.Increment(ref _exhaustions);
            return false;
        }
        int generation = _states[index].Generation + 1;
        _states[index].Generation = generation == BufferSize ? 0 : generation;
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
        _free.Push(index);
        return true;
    }

    /// <summary>The current reference count of a buffer (0 when free).</summary>
    public int RefCount(int index) => Volatile.Read(ref _states[index].RefCount);

    /// <summary>
    /// Asks for buffer <paramref name="index"/>'s reference count and generation ahead of use (a hint: no
    /// effect on correctness). Each buffer's state is a cache line of its own, last touched when the buffer
    /// was rented, which for a NIC's receive frames is a ring's depth of frames ago: by the time the frame
    /// comes back the line has left the core's caches, and the stack reads it for every delivered frame.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PrefetchState(int index)
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported && (uint)index < (uint)_states.Length)
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref _states[index]));
    }

    /// <summary>Address of the first byte of buffer <paramref name="index"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte* Pointer(int index) => _region + (long)index * BufferSize;

    /// <summary>
    /// The <see cref="Sga.Handle"/> of buffer <paramref name="index"/> for its current owner: an address
    /// inside the buffer that also encodes how many times it was rented (modulo <see cref="BufferSize"/>),
    /// so a handle kept from an earlier owner does not resolve (a stale free is EINVAL, not the new owner's loss).
    /// </summary>
    public nint HandleOf(int index) => (nint)(Pointer(index) + (uint)Volatile.Read(ref _states[index].Generation));

    /// <summary>Offset of buffer <paramref name="index"/> from the region start (the UMEM "address").</summary>
    public long OffsetOf(int index) => (long)index * BufferSize;

    /// <summary>Whether <paramref name="address"/> lies inside this pool's region.</summary>
    public bool Contains(nint address) => (byte*)address >= _region && (byte*)address < _region + (long)Count * BufferSize;

    /// <summary>The index of the buffer holding <paramref name="address"/>; -1 if outside the region.</summary>
    public int IndexOf(nint address)
    {
        if (!Contains(address))
            return Empty;
        ulong offset = (ulong)((byte*)address - _region);
        // Lemire's division by a constant (exact for 32-bit dividends): a multiply instead of a divide on every free and push.
        return _divideMultiplier != 0 ? (int)Math.BigMul(_divideMultiplier, offset, out _) : (int)(offset / (ulong)BufferSize);
    }

    /// <summary>The whole buffer <paramref name="index"/>, headroom included.</summary>
    public Span<byte> Whole(int index) => new(Pointer(index), BufferSize);

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

        // Bumped on every rent, so a handle from an earlier owner of the buffer no longer matches (HandleOf);
        // it wraps at BufferSize, so that HandleOf adds it to the buffer's address without a division.
        [FieldOffset(4)] public int Generation;
    }
}
