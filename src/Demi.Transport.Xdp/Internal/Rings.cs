using System.Runtime.CompilerServices;

namespace Demi.Transport.Xdp.Internal;

/// <summary>
/// The inline ring helpers of libxdp's xsk.h, in C#: single-producer/single-consumer index arithmetic
/// on the shared rings with acquire loads of the kernel's index and release stores of ours, so that
/// no P/Invoke happens per packet. Unlike libxdp's all-or-nothing reserve, these take "up to n".
/// </summary>
internal static unsafe class Rings
{
    /// <summary>Reserves up to <paramref name="n"/> producer slots; returns the count and the first index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Reserve(XskRing* r, uint n, out uint idx)
    {
        uint free = r->CachedCons - r->CachedProd;
        if (free < n)
        {
            // CachedCons is kept `Size` ahead of the real consumer so that free = cons - prod (xsk.h).
            r->CachedCons = Volatile.Read(ref *r->Consumer) + r->Size;
            free = r->CachedCons - r->CachedProd;
        }
        if (n > free)
            n = free;
        idx = r->CachedProd;
        r->CachedProd += n;
        return n;
    }

    /// <summary>Gives back the last <paramref name="n"/> reserved but unused producer slots.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Unreserve(XskRing* r, uint n) => r->CachedProd -= n;

    /// <summary>Publishes reserved slots to the kernel (release store: entries are visible first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Submit(XskRing* r, uint n)
    {
        if (n != 0)
            Volatile.Write(ref *r->Producer, *r->Producer + n);
    }

    /// <summary>Takes up to <paramref name="n"/> filled consumer entries; returns the count and the first index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Peek(XskRing* r, uint n, out uint idx)
    {
        uint entries = r->CachedProd - r->CachedCons;
        if (entries == 0)
        {
            r->CachedProd = Volatile.Read(ref *r->Producer);
            entries = r->CachedProd - r->CachedCons;
        }
        if (n > entries)
            n = entries;
        idx = r->CachedCons;
        r->CachedCons += n;
        return n;
    }

    /// <summary>Hands consumed entries back to the kernel (release store: reads are done first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Release(XskRing* r, uint n)
    {
        if (n != 0)
            Volatile.Write(ref *r->Consumer, *r->Consumer + n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool NeedsWakeup(XskRing* r) => (Volatile.Read(ref *r->Flags) & LibXdp.XDP_RING_NEED_WAKEUP) != 0;

    /// <summary>Entries the producer has published that the kernel has not consumed yet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Outstanding(XskRing* r) => *r->Producer - Volatile.Read(ref *r->Consumer);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong* FillAddr(XskRing* r, uint idx) => (ulong*)r->Ring + (idx & r->Mask);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static XdpDesc* Desc(XskRing* r, uint idx) => (XdpDesc*)r->Ring + (idx & r->Mask);
}
