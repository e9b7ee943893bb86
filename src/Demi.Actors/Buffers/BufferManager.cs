using System.Collections.Concurrent;

namespace Demi.Buffers;

/// <summary>
/// Hands out scatter-gather arrays and resolves their handles: pool buffers for sizes that fit (the
/// common case, lock-free), dedicated native blocks beyond that or when the pool is empty.
/// </summary>
public sealed unsafe class BufferManager : IDisposable
{
    private readonly ConcurrentDictionary<nint, LargeBuffer> _large = new();
    private readonly Action<LargeBuffer> _onLargeFreed;
    private readonly bool _ownsPool;

    /// <summary>Serves allocations up to <paramref name="maxAllocation"/> bytes from <paramref name="pool"/>, disposing it with the manager when <paramref name="ownsPool"/>.</summary>
    public BufferManager(BufferPool pool, int maxAllocation, bool ownsPool)
    {
        Pool = pool;
        MaxAllocation = maxAllocation;
        _ownsPool = ownsPool;
        _onLargeFreed = large => _large.TryRemove(large.Handle, out _);
    }

    /// <summary>The pool small allocations come from.</summary>
    public BufferPool Pool { get; }

    /// <summary>Largest <c>SgaAlloc</c> size accepted.</summary>
    public int MaxAllocation { get; }

    /// <summary>Outstanding large (non-pool) buffers.</summary>
    public int LargeOutstanding => _large.Count;

    /// <summary>
    /// Allocates <paramref name="size"/> bytes, zeroed unless <paramref name="zero"/> is false (then they
    /// hold whatever an earlier owner left: for hot paths that overwrite every byte). A failed allocation
    /// has a zero handle and no segments.
    /// </summary>
    public Sga Allocate(int size, bool zero = true)
    {
        if (size <= 0 || size > MaxAllocation)
            return default;
        Sga sga;
        if (size <= Pool.Capacity && Pool.TryRent(out int index))
        {
            nint start = (nint)Pool.Pointer(index);
            sga = new Sga
            {
                Handle = Pool.HandleOf(index),
                NumSegments = 1,
                Segment = new SgaSegment { Buffer = start + Pool.Headroom, Length = (uint)size },
            };
        }
        else
        {
            // Beyond the pool (or with the pool empty) the block gets the same headroom, so headers can still be prepended.
            var large = AllocateLarge(size + Pool.Headroom);
            sga = new Sga
            {
                Handle = large.Handle, NumSegments = 1, Segment = new SgaSegment { Buffer = large.Pointer + Pool.Headroom, Length = (uint)size },
            };
        }
        if (zero)
            new Span<byte>((void*)sga.Segment.Buffer, size).Clear();
        return sga;
    }

    /// <summary>A dedicated block (used for big allocations and when the pool runs dry: degrade, never block).</summary>
    public LargeBuffer AllocateLarge(int size)
    {
        var large = new LargeBuffer(size, _onLargeFreed);
        _large[large.Handle] = large;
        return large;
    }

    /// <summary>Wraps a pool buffer that now belongs to the app (a popped frame) as an sga.</summary>
    public static Sga ToSga(in PacketBuffer packet, in SockAddrIn address = default)
    {
        Sga sga = default;
        WriteSga(ref sga, packet, address);
        return sga;
    }

    /// <summary>Writes <see cref="ToSga(in PacketBuffer, in SockAddrIn)"/>'s sga into <paramref name="sga"/> in place.</summary>
    public static void WriteSga(ref Sga sga, in PacketBuffer packet, in SockAddrIn address = default)
    {
        sga.Handle = packet.Pool.HandleOf(packet.Index);
        sga.NumSegments = 1;
        sga.Segment.Buffer = packet.Address;
        sga.Segment.Length = (uint)packet.Length;
        sga.Address = address;
    }

    /// <summary>Wraps a large buffer that now belongs to the app as an sga.</summary>
    public static Sga ToSga(LargeBuffer large, int length, in SockAddrIn address = default) => new()
    {
        Handle = large.Handle,
        NumSegments = 1,
        Segment = new SgaSegment { Buffer = large.Pointer, Length = (uint)length },
        Address = address,
    };

    /// <summary>Finds the live buffer behind a handle.</summary>
    public bool TryResolve(nint handle, out BufferRef buffer)
    {
        if (Pool.Contains(handle))
        {
            int index = Pool.IndexOf(handle);
            if (Pool.HandleOf(index) == handle && Pool.RefCount(index) > 0)
            {
                buffer = new BufferRef(Pool, index);
                return true;
            }
        }
        else if (handle != 0 && _large.TryGetValue(handle, out var large) && large.RefCount > 0)
        {
            buffer = new BufferRef(large);
            return true;
        }
        buffer = default;
        return false;
    }

    /// <summary>
    /// Checks an sga the way push and free need it: one segment, a live buffer, a non-empty segment
    /// inside the allocation. Returns 0 or EINVAL.
    /// </summary>
    public int Validate(in Sga sga, out BufferRef buffer, bool allowEmptySegment = false)
    {
        buffer = default;
        if (sga.NumSegments != 1 || !TryResolve(sga.Handle, out buffer))
            return Errno.EINVAL;
        if (sga.Segment.Length == 0 && !allowEmptySegment)
            return Errno.EINVAL;
        long start = buffer.Start, end = start + buffer.Size, seg = sga.Segment.Buffer;
        if (seg < start || seg + sga.Segment.Length > end)
            return Errno.EINVAL;
        return 0;
    }

    /// <summary>Disposes the pool if the manager owns it.</summary>
    public void Dispose()
    {
        if (_ownsPool)
            Pool.Dispose();
    }
}
