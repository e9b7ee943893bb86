namespace Demi.Buffers;

/// <summary>A resolved <see cref="Sga.Handle"/>: either a pool buffer or a <see cref="LargeBuffer"/>.</summary>
public readonly struct BufferRef
{
    public readonly BufferPool? Pool;
    public readonly int Index;
    public readonly LargeBuffer? Large;

    public BufferRef(BufferPool pool, int index)
    {
        Pool = pool;
        Index = index;
        Large = null;
    }

    public BufferRef(LargeBuffer large)
    {
        Pool = null;
        Index = -1;
        Large = large;
    }

    public bool IsNull => Pool is null && Large is null;

    /// <summary>First byte of the whole allocation (headroom included).</summary>
    public unsafe nint Start => Pool is not null ? (nint)Pool.Pointer(Index) : Large!.Pointer;

    /// <summary>Size of the whole allocation.</summary>
    public int Size => Pool is not null ? Pool.BufferSize : Large!.Size;

    public void AddRef()
    {
        if (Pool is not null)
            Pool.AddRef(Index);
        else
            Large?.AddRef();
    }

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
