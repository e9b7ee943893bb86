using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Transport.Xdp;

namespace Demi.Micro;

/// <summary>
/// A real <see cref="XdpNicQueue"/> whose four AF_XDP rings are plain memory, with this class playing
/// the kernel's side of them: it takes fill-ring addresses and posts RX descriptors, and moves TX
/// descriptors to the completion ring. No socket, no UMEM registration, no root: the queue's own ring
/// code (reserve/submit, peek/release, fill refill, completion reclaim) runs unchanged. Built with
/// reflection at set-up (the queue has no public constructor for this); nothing reflective runs per frame.
/// The fake kernel only moves descriptors (no packet copy), so the figures are the ring code alone.
/// </summary>
public sealed unsafe class FakeXskQueue : IDisposable
{
    /// <summary>XDP_PACKET_HEADROOM: where copy-mode AF_XDP puts a received packet inside its frame.</summary>
    public const int KernelRxHeadroom = 256;

    private const uint RingSize = 2048;

    // The layout of libxdp's struct xsk_ring_prod/cons, as XdpNicQueue's internal XskRing mirrors it.
    [StructLayout(LayoutKind.Sequential)]
    private struct Ring
    {
        public uint CachedProd;
        public uint CachedCons;
        public uint Mask;
        public uint Size;
        public uint* Producer;
        public uint* Consumer;
        public void* Entries;
        public uint* Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Desc
    {
        public ulong Addr;
        public uint Len;
        public uint Options;
    }

    // The kernel's side of each ring: producer/consumer words and entries in one block per ring.
    private readonly byte* _fillMem, _compMem, _rxMem, _txMem;
    private uint _fillCons, _rxProd, _txCons, _compProd;
    private readonly uint _frameSize;

    /// <summary>Builds the queue over a fresh in-memory UMEM of <paramref name="frameCount"/> frames.</summary>
    public FakeXskQueue(int frameCount = 4096, int frameSize = 2048, int headroom = 256)
    {
        _frameSize = (uint)frameSize;
        var umem = (XdpUmem)RuntimeHelpers.GetUninitializedObject(typeof(XdpUmem));
        SetAuto(umem, "Pool", new BufferPool(frameSize, frameCount, headroom));
        SetAuto(umem, "FrameSize", frameSize);
        SetAuto(umem, "FrameCount", frameCount);
        SetAuto(umem, "FillSize", (int)RingSize);
        SetAuto(umem, "CompletionSize", (int)RingSize);

        var options = new XdpQueueOptions { Interface = "fake0", RxSize = (int)RingSize, TxSize = (int)RingSize, FillSize = (int)RingSize, NeedWakeup = true };
        var ctor = typeof(XdpNicQueue).GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic,
            [typeof(XdpQueueOptions), typeof(XdpUmem), typeof(bool), typeof(string), typeof(int)])
            ?? throw new InvalidOperationException("XdpNicQueue's private constructor changed: update FakeXskQueue.");
        Queue = (XdpNicQueue)ctor.Invoke([options, umem, true, "fake", 1]);

        _fillMem = AllocRingMemory(sizeof(ulong));
        _compMem = AllocRingMemory(sizeof(ulong));
        _rxMem = AllocRingMemory(sizeof(Desc));
        _txMem = AllocRingMemory(sizeof(Desc));
        SetRing("_fill", _fillMem, producerRing: true);
        SetRing("_comp", _compMem, producerRing: false);
        SetRing("_rx", _rxMem, producerRing: false);
        SetRing("_tx", _txMem, producerRing: true);
        SetAuto(Queue, "Mtu", 1500);
        SetField(Queue, "_xsk", (nint)1); // "open": the queue's methods refuse a zero handle
        Queue.Receive(default); // stocks the fill ring, as opening the socket does
    }

    /// <summary>The queue under test.</summary>
    public XdpNicQueue Queue { get; }

    /// <summary>The UMEM's pool (what the stack rents TX frames from).</summary>
    public BufferPool Pool => Queue.Pool;

    /// <summary>Kernel side of RX: takes up to <paramref name="n"/> fill-ring frames and posts them as received packets of <paramref name="length"/> bytes.</summary>
    public int Deliver(int n, int length)
    {
        uint fillProd = Volatile.Read(ref *(uint*)_fillMem);
        uint rxCons = Volatile.Read(ref *(uint*)(_rxMem + 64));
        uint available = fillProd - _fillCons;
        uint room = RingSize - (_rxProd - rxCons);
        uint count = Math.Min((uint)n, Math.Min(available, room));
        var fill = (ulong*)(_fillMem + 256);
        var rx = (Desc*)(_rxMem + 256);
        for (uint i = 0; i < count; i++)
        {
            ulong addr = fill[(_fillCons + i) & (RingSize - 1)];
            ref var d = ref rx[(_rxProd + i) & (RingSize - 1)];
            d.Addr = addr + KernelRxHeadroom;
            d.Len = (uint)length;
            d.Options = 0;
        }
        _fillCons += count;
        Volatile.Write(ref *(uint*)(_fillMem + 64), _fillCons);
        _rxProd += count;
        Volatile.Write(ref *(uint*)_rxMem, _rxProd);
        return (int)count;
    }

    /// <summary>Kernel side of TX: "sends" every submitted descriptor and returns its frame on the completion ring.</summary>
    public int CompleteTransmits()
    {
        uint txProd = Volatile.Read(ref *(uint*)_txMem);
        uint compCons = Volatile.Read(ref *(uint*)(_compMem + 64));
        uint count = Math.Min(txProd - _txCons, RingSize - (_compProd - compCons));
        var tx = (Desc*)(_txMem + 256);
        var comp = (ulong*)(_compMem + 256);
        for (uint i = 0; i < count; i++)
            comp[(_compProd + i) & (RingSize - 1)] = tx[(_txCons + i) & (RingSize - 1)].Addr;
        _txCons += count;
        Volatile.Write(ref *(uint*)(_txMem + 64), _txCons);
        _compProd += count;
        Volatile.Write(ref *(uint*)_compMem, _compProd);
        return (int)count;
    }

    // Producer word at 0, consumer at 64, flags at 128 (separate cache lines, as the kernel maps them), entries at 256.
    private static byte* AllocRingMemory(int entrySize)
    {
        nuint bytes = (nuint)(256 + RingSize * entrySize);
        var p = (byte*)NativeMemory.AlignedAlloc(bytes, 64);
        new Span<byte>(p, (int)bytes).Clear();
        return p;
    }

    private void SetRing(string field, byte* mem, bool producerRing)
    {
        // The queue frees the XskRing struct itself on Dispose (NativeMemory.Free), so allocate it that way.
        var ring = (Ring*)NativeMemory.AllocZeroed((nuint)sizeof(Ring));
        ring->Mask = RingSize - 1;
        ring->Size = RingSize;
        ring->Producer = (uint*)mem;
        ring->Consumer = (uint*)(mem + 64);
        ring->Flags = (uint*)(mem + 128);
        ring->Entries = mem + 256;
        // xsk.h: a producer's cached consumer runs a ring size ahead so that free = cons - prod.
        ring->CachedCons = producerRing ? RingSize : 0;
        var info = typeof(XdpNicQueue).GetField(field, BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"XdpNicQueue.{field} is gone: update FakeXskQueue.");
        info.SetValue(Queue, Pointer.Box(ring, info.FieldType));
    }

    private static void SetAuto(object target, string property, object value) => SetField(target, $"<{property}>k__BackingField", value);

    private static void SetField(object target, string name, object value)
    {
        var info = target.GetType().GetField(name, BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"{target.GetType().Name}.{name} is gone: update FakeXskQueue.");
        info.SetValue(target, value);
    }

    public void Dispose()
    {
        // Close as if the socket were already gone: no libxdp call, the queue frees its ring structs and the UMEM pool.
        SetField(Queue, "_xsk", (nint)0);
        Queue.Dispose();
        NativeMemory.AlignedFree(_fillMem);
        NativeMemory.AlignedFree(_compMem);
        NativeMemory.AlignedFree(_rxMem);
        NativeMemory.AlignedFree(_txMem);
    }
}
