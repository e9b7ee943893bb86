namespace Demi.Buffers;

/// <summary>A resolved <see cref="Sga.Handle"/>: either a pool buffer or a <see cref="LargeBuffer"/>.</summary>
public readonly struct BufferRef
{
    /// <summary>The pool holding the buffer, or null for a large buffer.</summary>
    public readonly BufferPool? Pool;
    /// <summary>The buffer's index in <see cref="Pool"/>, or -1 for a large buffer.</summary>
    public readonly int Index;
    /// <summary>The large buffer, or null for a pool buffer.</summary>
    public readonly LargeBuffer? Large;

    /// <summary>Refers to buffer <paramref name="index"/> of <paramref name="pool"/>.</summary>
    public BufferRef(BufferPool pool, int index)
    {
        Pool = pool;
        Index = index;
        Large = null;
    }

    /// <summary>Refers to a large buffer.</summary>
    public BufferRef(LargeBuffer large)
    {
        Pool = null;
        Index = -1;
        Large = large;
    }

    /// <summary>True for the default value (refers to nothing).</summary>
    public bool IsNull => Pool is null && Large is null;

    /// <summary>First byte of the whole allocation (headroom included).</summary>
    public unsafe nint Start => Pool is not null ? (nint)Pool.Pointer(Index) : Large!.Pointer;

    /// <summary>Size of the whole allocation.</summary>
    public int Size => Pool is not null ? Pool.BufferSize : Large!.Size;

    /// <summary>Takes one more reference on the buffer.</summary>
    public void AddRef()
    {
        if (Pool is not null)
            Pool.AddRef(Index);
        else
            Large?.AddRef();
    }

    /// <summary>Drops one reference; the buffer is freed when the last one goes.</summary>
    public void Release()
    {
        if (Pool is not null)
            Pool.Release(Index);
        else
            Large?.Release();
    }

    /// <summary>
    /// The segment of <paramref name="sga"/> as a <see cref="PacketBuffer"/> window (pool buffers only),
    /// so a stack can prepend headers in front of the app's payload without copying it.
    /// </summary>
    public bool TryGetPacket(in Sga sga, out PacketBuffer packet)
    {
        if (Pool is null)
        {
            packet = default;
            return false;
        }
        packet = new PacketBuffer(Pool, Index, (int)(sga.Segment.Buffer - Start), (int)sga.Segment.Length);
        return true;
    }
}
