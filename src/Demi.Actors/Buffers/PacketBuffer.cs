using System.Runtime.CompilerServices;

namespace Demi.Buffers;

/// <summary>
/// A window [Offset, Offset+Length) into one pooled buffer. Protocol layers prepend headers by
/// moving <see cref="Offset"/> back into headroom and strip them by moving it forward, so the
/// payload is never copied. The struct itself owns nothing: whoever holds it must hold a reference
/// on the buffer (see <see cref="BufferPool.AddRef"/> and <see cref="Release"/>).
/// </summary>
public struct PacketBuffer
{
    /// <summary>The pool owning the buffer.</summary>
    public BufferPool Pool;
    /// <summary>The buffer's index in <see cref="Pool"/>.</summary>
    public int Index;
    /// <summary>Start of the window, in bytes from the start of the buffer.</summary>
    public int Offset;
    /// <summary>Length of the window in bytes.</summary>
    public int Length;

    /// <summary>A window of <paramref name="length"/> bytes at <paramref name="offset"/> in buffer <paramref name="index"/>; takes no reference.</summary>
    public PacketBuffer(BufferPool pool, int index, int offset, int length)
    {
        Pool = pool;
        Index = index;
        Offset = offset;
        Length = length;
    }

    /// <summary>Rents a buffer positioned after the pool's headroom, with length 0. False when the pool is empty.</summary>
    public static bool TryRent(BufferPool pool, out PacketBuffer buffer)
    {
        if (pool.TryRent(out int index))
        {
            buffer = new PacketBuffer(pool, index, pool.Headroom, 0);
            return true;
        }
        buffer = default;
        return false;
    }

    /// <summary>True for the default value (no buffer).</summary>
    public readonly bool IsEmpty => Pool is null;

    /// <summary>The bytes of the window.</summary>
    public readonly unsafe Span<byte> Span
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => new(Pool.Pointer(Index) + Offset, Length);
    }

    /// <summary>Address of the window's first byte.</summary>
    public readonly unsafe nint Address => (nint)(Pool.Pointer(Index) + Offset);

    /// <summary>Bytes free in front of the window.</summary>
    public readonly int HeadroomLeft => Offset;

    /// <summary>Bytes free after the window.</summary>
    public readonly int TailroomLeft => Pool.BufferSize - Offset - Length;

    /// <summary>Grows the window by <paramref name="count"/> bytes at the front and returns them (for a header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe Span<byte> Prepend(int count)
    {
        if ((uint)count > (uint)Offset)
            ThrowNoHeadroom();
        Offset -= count;
        Length += count;
        return new Span<byte>(Pool.Pointer(Index) + Offset, count);
    }

    /// <summary>Removes <paramref name="count"/> bytes from the front (a parsed header).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void TrimFront(int count)
    {
        if ((uint)count > (uint)Length)
            ThrowOutOfRange();
        Offset += count;
        Length -= count;
    }

    /// <summary>
    /// The window's <paramref name="length"/> bytes from <paramref name="start"/> on, as a new value (same buffer,
    /// same reference). For handing a parsed packet's inner part to the next layer: a buffer trimmed in place
    /// and then passed by value is copied in 8-byte words over the 4-byte fields just written, a load the
    /// store buffer cannot forward (a stall per layer, per packet).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly PacketBuffer Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
            ThrowOutOfRange();
        return new PacketBuffer(Pool, Index, Offset + start, length);
    }

    /// <summary>
    /// The window grown by <paramref name="count"/> bytes at the front (room for a header), as a new value: what
    /// <see cref="Prepend"/> does in place, for a layer that writes its header and hands the result on by value
    /// (see <see cref="Slice"/> for why not in place).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly PacketBuffer WithFront(int count)
    {
        if ((uint)count > (uint)Offset)
            ThrowNoHeadroom();
        return new PacketBuffer(Pool, Index, Offset - count, Length + count);
    }

    /// <summary>Keeps only the first <paramref name="length"/> bytes (drops link padding).</summary>
    public void Truncate(int length)
    {
        if ((uint)length > (uint)Length)
            ThrowOutOfRange();
        Length = length;
    }

    /// <summary>Grows the window at the back by <paramref name="count"/> bytes and returns them.</summary>
    public unsafe Span<byte> Append(int count)
    {
        if ((uint)count > (uint)TailroomLeft)
            ThrowOutOfRange();
        var span = new Span<byte>(Pool.Pointer(Index) + Offset + Length, count);
        Length += count;
        return span;
    }

    /// <summary>Takes one more reference on the buffer (for a second holder).</summary>
    public readonly void AddRef() => Pool.AddRef(Index);

    /// <summary>Drops the holder's reference.</summary>
    public readonly void Release() => Pool.Release(Index);

    private static void ThrowNoHeadroom() => throw new InvalidOperationException("Not enough headroom in the buffer to prepend a header.");

    private static void ThrowOutOfRange() => throw new ArgumentOutOfRangeException("count");
}
