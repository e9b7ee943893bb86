using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Transport.Dpdk.Internal;

namespace Demi.Transport.Dpdk;

/// <summary>
/// The mempool is the buffer pool: one native region of <see cref="Count"/> equal buffers is both
/// the <see cref="BufferPool"/> that <c>SgaAlloc</c> and the stack rent from and the data rooms of
/// a DPDK mbuf pool (pinned external buffers: mbuf <c>i</c>'s data is buffer <c>i</c>, headroom
/// included). The <see cref="BufferPool"/> owns every buffer; buffers are lent to the mempool for
/// the PMDs to receive into and come back as received frames (in place, with their reference), so
/// both sides never hand out the same memory. Lending is topped up per RX burst; when the pool runs
/// low the shortfall is counted and RX drops (the PMD counts <c>rx_nombuf</c>), nothing blocks.
/// </summary>
public sealed unsafe class DpdkMbufPool : IDisposable
{
    private static int s_sequence;

    private readonly nint* _table;
    private readonly nint _mempool;
    private readonly nint _copyPool;
    private nint _driverRxPool;
    private long _lent;
    private long _lendShortfall;
    private int _disposed;

    /// <summary>
    /// Creates <paramref name="count"/> buffers of <paramref name="bufferSize"/> bytes (headroom
    /// <see cref="DpdkOptions.Headroom"/>) and their mbufs. The EAL must be running.
    /// <paramref name="cacheSize"/> mbufs may wait in each polling thread's cache of the mempool
    /// (<see cref="DpdkOptions.MempoolCacheSize"/>; 0: none), at most two thirds of the pool.
    /// </summary>
    public DpdkMbufPool(int count, int bufferSize = DpdkOptions.DefaultBufferSize, int cacheSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cacheSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(cacheSize, DpdkOptions.MaxMempoolCacheSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 64);
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, DpdkOptions.Headroom + 64);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(bufferSize, ushort.MaxValue);
        if (!DpdkEal.IsInitialized)
            throw new InvalidOperationException("Start the EAL (DpdkEal.Initialize) before creating an mbuf pool.");
        nint region = (nint)NativeMemory.AlignedAlloc((nuint)count * (nuint)bufferSize, 4096);
        _table = (nint*)NativeMemory.AllocZeroed((nuint)count, (nuint)sizeof(nint));
        int seq = Interlocked.Increment(ref s_sequence);
        // DPDK refuses a cache whose flush threshold (1.5 × its size) exceeds the pool.
        CacheSize = Math.Min(cacheSize, count * 2 / 3);
        _mempool = DpdkNative.demi_dpdk_pool_create($"demi{seq}", (uint)count, (void*)region, (ushort)bufferSize, _table, (uint)CacheSize);
        if (_mempool == 0)
        {
            NativeMemory.AlignedFree((void*)region);
            NativeMemory.Free(_table);
            throw new DpdkException($"rte_pktmbuf_pool_create_extbuf({count} mbufs) failed: EAL memory (-m) too small?", 12);
        }
        // A small ordinary pool for the rare frame that must be copied on TX (a buffer already in flight).
        _copyPool = DpdkNative.demi_dpdk_pool_create_plain($"demicopy{seq}", 511);
        if (_copyPool == 0)
        {
            DpdkNative.demi_dpdk_pool_free(_mempool);
            NativeMemory.AlignedFree((void*)region);
            NativeMemory.Free(_table);
            throw new DpdkException("rte_pktmbuf_pool_create(copy pool) failed: EAL memory (-m) too small?", 12);
        }
        Pool = new BufferPool(region, bufferSize, count, DpdkOptions.Headroom, ownsRegion: false);
        Region = region;
    }

    /// <summary>The buffers (what <c>SgaAlloc</c> serves).</summary>
    public BufferPool Pool { get; }

    /// <summary>Number of buffers (= mbufs).</summary>
    public int Count => Pool.Count;

    /// <summary>Bytes per buffer, headroom included.</summary>
    public int BufferSize => Pool.BufferSize;

    /// <summary>Buffers currently lent to the mempool (the PMDs' RX supply).</summary>
    public long Lent => Interlocked.Read(ref _lent);

    /// <summary>How many buffers a top-up wanted to lend but the pool did not have (the pool ran low).</summary>
    public long LendShortfall => Interlocked.Read(ref _lendShortfall);

    /// <summary>mbufs in the DPDK mempool right now (should equal <see cref="Lent"/> minus the PMDs' pre-allocated RX descriptors).</summary>
    public int MempoolAvailable => (int)DpdkNative.demi_dpdk_pool_avail(_mempool);

    internal nint Region { get; }

    internal nint Mempool => _mempool;

    internal nint CopyPool => _copyPool;

    internal nint* Table => _table;

    /// <summary>
    /// A plain mbuf pool (data rooms of its own) of <paramref name="count"/> mbufs for a PMD that cannot
    /// receive into external buffers; frames received into it are copied into <see cref="Pool"/>.
    /// </summary>
    internal nint CreateDriverRxPool(int count)
    {
        if (_driverRxPool == 0)
        {
            _driverRxPool = DpdkNative.demi_dpdk_pool_create_plain($"demirx{Interlocked.Increment(ref s_sequence)}", (uint)count);
            if (_driverRxPool == 0)
                throw new DpdkException($"rte_pktmbuf_pool_create({count} RX mbufs) failed: EAL memory (-m) too small?", 12);
        }
        return _driverRxPool;
    }

    /// <summary>Mbufs each polling thread may cache (0: every get and put goes to the mempool's ring).</summary>
    public int CacheSize { get; }

    /// <summary>Lends up to <paramref name="count"/> free buffers to the mempool; returns how many it could.</summary>
    public int Lend(int count)
    {
        const int Batch = 64;
        int* indices = stackalloc int[Batch];
        int lent = 0;
        while (lent < count)
        {
            int n = 0;
            int want = Math.Min(Batch, count - lent);
            while (n < want && Pool.TryRent(out int index))
                indices[n++] = index;
            if (n > 0)
                DpdkNative.demi_dpdk_lend(_mempool, _table, indices, (uint)n);
            lent += n;
            if (n < want)
            {
                Interlocked.Add(ref _lendShortfall, count - lent);
                break;
            }
        }
        Interlocked.Add(ref _lent, lent);
        return lent;
    }

    /// <summary>A received in-place frame was a lent buffer: it is the receiver's now.</summary>
    internal void Returned(int count) => Interlocked.Add(ref _lent, -count);

    /// <summary>Takes every lent buffer still in the mempool back into the pool (after the ports are stopped).</summary>
    public int ReclaimAll()
    {
        const int Batch = 64;
        int* indices = stackalloc int[Batch];
        int total = 0;
        uint n;
        while ((n = DpdkNative.demi_dpdk_reclaim(_mempool, (void*)Region, (ushort)BufferSize, indices, Batch)) > 0)
        {
            for (int i = 0; i < n; i++)
                Pool.Release(indices[i]);
            total += (int)n;
        }
        Interlocked.Add(ref _lent, -total);
        return total;
    }

    /// <summary>
    /// Frees the mempools and the region. Ports using the pool must be stopped first; buffers the app
    /// still holds must not be touched afterwards.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        ReclaimAll();
        if (_driverRxPool != 0)
            DpdkNative.demi_dpdk_pool_free(_driverRxPool);
        DpdkNative.demi_dpdk_pool_free(_copyPool);
        DpdkNative.demi_dpdk_pool_free(_mempool);
        Pool.Dispose();
        NativeMemory.AlignedFree((void*)Region);
        NativeMemory.Free(_table);
    }
}
