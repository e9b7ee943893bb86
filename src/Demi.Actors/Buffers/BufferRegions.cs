namespace Demi.Buffers;

/// <summary>
/// The native regions of the pools that are alive, so that an <see cref="Sga"/> whose pool was disposed
/// (its libOS disposed) throws <see cref="ObjectDisposedException"/> instead of touching freed memory.
/// Registration is rare (a pool's life); the lookup is a read of a small immutable array.
/// </summary>
internal static class BufferRegions
{
    private static (nint Start, nint End)[] s_live = [];
    private static readonly object s_gate = new();

    public static void Add(nint start, long length)
    {
        lock (s_gate)
            Volatile.Write(ref s_live, [.. s_live, (start, start + (nint)length)]);
    }

    public static void Remove(nint start)
    {
        lock (s_gate)
            Volatile.Write(ref s_live, s_live.Where(r => r.Start != start).ToArray());
    }

    /// <summary>True when <paramref name="address"/> lies in a live pool's region.</summary>
    public static bool Contains(nint address)
    {
        foreach (var (start, end) in Volatile.Read(ref s_live))
        {
            if (address >= start && address < end)
                return true;
        }
        return false;
    }
}
