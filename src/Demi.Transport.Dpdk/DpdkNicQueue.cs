using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;
using Demi.Transport.Dpdk.Internal;

namespace Demi.Transport.Dpdk;

/// <summary>
/// One RX/TX queue pair of a <see cref="DpdkPort"/> as an <see cref="INicQueue"/>, over a
/// <see cref="DpdkMbufPool"/>. Received mbufs of the pool are handed out in place (the frame is the
/// mbuf's buffer, and the reference the pool lent it with now belongs to the caller); each burst
/// lends as many free buffers back to the mempool. Transmitted frames go out as the mbufs of their
/// own buffers: the queue keeps a second mbuf reference while the PMD holds the mbuf and releases
/// the buffer once the PMD has dropped it, so a buffer freed by the app while in flight lives until
/// TX is done. One native call per burst in each direction. Driven by one shard thread.
/// </summary>
public sealed unsafe class DpdkNicQueue : INicQueue
{
    private const int MaxBurst = 256;
    private const int InFlightGraceMilliseconds = 1000;

    private readonly DpdkPort _port;
    private readonly DpdkMbufPool _mbufs;
    private readonly BufferPool _pool;
    private readonly ushort _portId;
    private readonly ushort _queueId;
    private readonly nint _mempool;
    private readonly nint _copyPool;
    private readonly nint* _table;
    private readonly void* _region;
    private readonly ushort _bufferSize;
    private readonly uint _refCntOffset;
    private readonly int _checksumOffload;
    // Per-burst scratch in native memory (the shim writes into it): no allocation per packet.
    private readonly nint* _rxScratch;
    private readonly DpdkNative.RxDesc* _rxDescs;
    private readonly DpdkNative.TxDesc* _txDescs;
    private readonly byte* _txCopied;
    private readonly nint* _freeScratch;
    // Buffers whose mbuf the PMD may still hold, oldest first (a power-of-two ring of indices).
    private readonly int[] _inFlight;
    private int _inFlightHead, _inFlightCount;
    private int _lendDebt;
    private int _disposed;
    private int _lcore = -1; // the polling thread's lcore id while it is registered for the mempool cache
    private long _rxFrames, _rxBursts, _rxCopied, _rxDropped, _txFrames, _txBursts, _txCopiedFrames, _txInvalid, _txRingFull;

    internal DpdkNicQueue(DpdkPort port, int queueId, DpdkMbufPool mbufs, int mtu)
    {
        _port = port;
        _mbufs = mbufs;
        _pool = mbufs.Pool;
        _portId = port.Id;
        _queueId = (ushort)queueId;
        _mempool = mbufs.Mempool;
        _copyPool = mbufs.CopyPool;
        _table = mbufs.Table;
        _region = (void*)mbufs.Region;
        _bufferSize = (ushort)mbufs.BufferSize;
        _refCntOffset = DpdkEal.Layout.RefCnt;
        _checksumOffload = port.TxChecksumOffload ? 1 : 0;
        _rxScratch = (nint*)NativeMemory.Alloc(MaxBurst, (nuint)sizeof(nint));
        _rxDescs = (DpdkNative.RxDesc*)NativeMemory.Alloc(MaxBurst, (nuint)sizeof(DpdkNative.RxDesc));
        _txDescs = (DpdkNative.TxDesc*)NativeMemory.Alloc(MaxBurst, (nuint)sizeof(DpdkNative.TxDesc));
        _txCopied = (byte*)NativeMemory.Alloc(MaxBurst);
        _freeScratch = (nint*)NativeMemory.Alloc(MaxBurst, (nuint)sizeof(nint));
        _inFlight = new int[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(mbufs.Count, 2))];
        QueueId = queueId;
        Mtu = mtu;
    }

    /// <summary>The queue pair's index on its port (= the shard index).</summary>
    public int QueueId { get; }

    /// <summary>The port.</summary>
    public DpdkPort Port => _port;

    /// <inheritdoc/>
    public MacAddress MacAddress => _port.MacAddress;

    /// <inheritdoc/>
    public int Mtu { get; }

    /// <summary>TX checksums when the device offers all of IPv4/UDP/TCP; RX checksums are always verified by the stack.</summary>
    public NicOffloads Offloads => _checksumOffload != 0 ? NicOffloads.TxChecksum : NicOffloads.None;

    /// <inheritdoc/>
    public BufferPool Pool => _pool;

    /// <summary>-1: DPDK queues are polled (an idle shard cannot sleep on them).</summary>
    public int WaitFd => -1;

    /// <summary>Buffers transmitted whose mbuf the PMD has not released yet.</summary>
    public int InFlight => _inFlightCount;

    /// <inheritdoc/>
    public int Receive(Span<PacketBuffer> frames)
    {
        if (_disposed != 0)
            ThrowObjectDisposed();
        ReclaimTransmitted();
        int want = Math.Min(frames.Length, MaxBurst);
        if (want == 0)
            return 0;
        uint dropped = 0;
        int n = DpdkNative.demi_dpdk_rx(_portId, _queueId, _mempool, _region, _bufferSize, _rxScratch, _rxDescs, (ushort)want, &dropped);
        if (n > 0)
            _rxBursts++;
        int taken = 0, inPlace = 0, toFree = 0;
        for (int i = 0; i < n; i++)
        {
            ref DpdkNative.RxDesc d = ref _rxDescs[i];
            if (d.Index >= 0)
            {
                frames[taken++] = new PacketBuffer(_pool, d.Index, d.Offset, d.Length);
                inPlace++;
                continue;
            }
            // Not one of ours to keep (a sibling port's frame on net_ring, another pool): copy it out.
            _freeScratch[toFree++] = d.Mbuf;
            if (d.Length <= _pool.Capacity && PacketBuffer.TryRent(_pool, out var copy))
            {
                new ReadOnlySpan<byte>(d.Data, d.Length).CopyTo(copy.Append(d.Length));
                frames[taken++] = copy;
                _rxCopied++;
            }
            else
            {
                _rxDropped++;
            }
        }
        if (toFree > 0)
            DpdkNative.demi_dpdk_free_bulk(_freeScratch, (uint)toFree);
        _rxDropped += dropped;
        _rxFrames += taken;
        if (inPlace > 0 || _lendDebt > 0)
        {
            // The frames were the PMDs' supply: lend as many back (what the pool lacks is retried next burst).
            _mbufs.Returned(inPlace);
            int owed = inPlace + _lendDebt;
            _lendDebt = owed - _mbufs.Lend(owed);
        }
        return taken;
    }

    /// <summary>The lcore id the polling thread was registered as for the mempool cache; negative when it was not (-2: it already was an lcore).</summary>
    public int PollingLcore => _lcore;

    /// <inheritdoc/>
    /// <remarks>With a mempool cache, the thread becomes an lcore: without an lcore id DPDK bypasses the cache.</remarks>
    public void AttachPollingThread()
    {
        if (_mbufs.CacheSize > 0 && _lcore < 0)
            _lcore = DpdkNative.demi_dpdk_thread_register();
    }

    /// <inheritdoc/>
    /// <remarks>Returns the thread's cached mbufs to the mempool's ring first, so that every one can be taken back.</remarks>
    public void DetachPollingThread()
    {
        if (_lcore >= 0)
            DpdkNative.demi_dpdk_thread_release();
        _lcore = -1;
    }

    /// <inheritdoc/>
    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        if (_disposed != 0)
            ThrowObjectDisposed();
        int consumed = 0;
        while (consumed < frames.Length)
        {
            int start = consumed, count = 0;
            int maxFrame = Mtu + Demi.Inet.Headers.EthernetHeader.MaxOverhead;
            while (consumed < frames.Length && count < MaxBurst)
            {
                ref readonly PacketBuffer f = ref frames[consumed];
                if (!ReferenceEquals(f.Pool, _pool) || f.Length < Demi.Inet.Headers.EthernetHeader.Length || f.Length > maxFrame
                    || (uint)f.Offset + (uint)f.Length > (uint)_bufferSize)
                {
                    if (count > 0)
                        break; // send what precedes it first, keeping the taken prefix contiguous
                    // Never handed to the device (it could not be freed back correctly): refuse and count.
                    _txInvalid++;
                    if (f.Pool is not null)
                        f.Release();
                    consumed++;
                    start = consumed;
                    continue;
                }
                _txDescs[count++] = new DpdkNative.TxDesc { Index = f.Index, Offset = (ushort)f.Offset, Length = (ushort)f.Length };
                consumed++;
            }
            if (count == 0)
                continue;
            int sent = DpdkNative.demi_dpdk_tx(_portId, _queueId, _table, _copyPool, _txDescs, (ushort)count, _checksumOffload, _txCopied);
            _txBursts++;
            for (int i = 0; i < sent; i++)
            {
                if (_txCopied[i] != 0)
                {
                    _txCopiedFrames++;
                    frames[start + i].Release();
                }
                else
                {
                    _inFlight[(_inFlightHead + _inFlightCount++) & (_inFlight.Length - 1)] = frames[start + i].Index;
                }
            }
            _txFrames += sent;
            if (sent < count)
            {
                // TX ring full: the rest stays the caller's.
                _txRingFull++;
                return start + sent;
            }
        }
        return consumed;
    }

    /// <inheritdoc/>
    public void Flush() => ReclaimTransmitted();

    /// <summary>Releases the buffers whose mbuf the PMD has let go of (its reference count is back to ours alone).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ReclaimTransmitted()
    {
        int mask = _inFlight.Length - 1;
        while (_inFlightCount > 0)
        {
            int index = _inFlight[_inFlightHead];
            if (DpdkNative.RefCount(_table[index], _refCntOffset) != 1)
                return; // PMDs release in order per queue: the rest is younger
            _inFlightHead = (_inFlightHead + 1) & mask;
            _inFlightCount--;
            _pool.Release(index);
        }
    }

    /// <summary>The queue's counters and its port's (one control-path call).</summary>
    public DpdkQueueStatistics GetStatistics() => new()
    {
        RxFrames = _rxFrames,
        RxBursts = _rxBursts,
        RxCopied = _rxCopied,
        RxDropped = _rxDropped,
        TxFrames = _txFrames,
        TxBursts = _txBursts,
        TxCopied = _txCopiedFrames,
        TxDroppedInvalid = _txInvalid,
        TxRingFull = _txRingFull,
        TxInFlight = _inFlightCount,
        LendDebt = _lendDebt,
        Port = _port.GetStatistics(),
    };

    private static void ThrowObjectDisposed() => throw new ObjectDisposedException(nameof(DpdkNicQueue));

    /// <summary>
    /// Frees the queue's scratch memory and gives back the buffers still in flight (call after the
    /// port is stopped: the PMD holds nothing any more, except that on a <see cref="DpdkRingPair"/> the
    /// peer may still be copying one out; it gets up to a second to finish).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // A net_ring peer's shard still runs and may be copying one of our mbufs out right now: let it
        // finish before the buffers are reused or freed. Other PMDs let go of everything at stop.
        if (_port.Driver == DpdkRingPair.Driver)
        {
            long deadline = Environment.TickCount64 + InFlightGraceMilliseconds;
            for (ReclaimTransmitted(); _inFlightCount > 0 && Environment.TickCount64 < deadline; ReclaimTransmitted())
                Thread.Yield();
        }
        int mask = _inFlight.Length - 1;
        while (_inFlightCount > 0)
        {
            int index = _inFlight[_inFlightHead];
            _inFlightHead = (_inFlightHead + 1) & mask;
            _inFlightCount--;
            *(ushort*)((byte*)_table[index] + _refCntOffset) = 1;
            _pool.Release(index);
        }
        NativeMemory.Free(_rxScratch);
        NativeMemory.Free(_rxDescs);
        NativeMemory.Free(_txDescs);
        NativeMemory.Free(_txCopied);
        NativeMemory.Free(_freeScratch);
    }
}

/// <summary>Counters of one <see cref="DpdkNicQueue"/>.</summary>
public sealed record DpdkQueueStatistics
{
    /// <summary>Frames handed to the stack.</summary>
    public long RxFrames { get; init; }
    /// <summary>Receive bursts that brought at least one frame (<see cref="RxFrames"/> / this: the mean burst, less any frames dropped).</summary>
    public long RxBursts { get; init; }
    /// <summary>Received frames that had to be copied (not a lent mbuf of this pool).</summary>
    public long RxCopied { get; init; }
    /// <summary>Received frames dropped (multi-segment, or no buffer to copy into).</summary>
    public long RxDropped { get; init; }
    /// <summary>Frames handed to the device.</summary>
    public long TxFrames { get; init; }
    /// <summary>Transmit bursts handed to the PMD (on af_packet, one kick of the kernel each).</summary>
    public long TxBursts { get; init; }
    /// <summary>Transmitted frames copied into a fresh mbuf because their buffer was already in flight.</summary>
    public long TxCopied { get; init; }
    /// <summary>Frames refused (not of the pool, or of an impossible length) and released.</summary>
    public long TxDroppedInvalid { get; init; }
    /// <summary>Bursts the device did not take whole (TX ring full).</summary>
    public long TxRingFull { get; init; }
    /// <summary>Buffers whose mbuf the PMD still held at the time.</summary>
    public int TxInFlight { get; init; }
    /// <summary>Buffers this queue owes the mempool because the pool ran low.</summary>
    public int LendDebt { get; init; }
    /// <summary>The port's device counters.</summary>
    public DpdkPortStatistics Port { get; init; } = new();
}
