using System.Runtime.InteropServices;

namespace Demi.Buffers;

/// <summary>
/// A buffer too big for the pool (or allocated while the pool was empty): its own pinned native
/// block with a reference count. Slower to allocate, same semantics.
/// </summary>
public sealed unsafe class LargeBuffer
{
    // Handles of large buffers are numbers, not addresses (no pool region holds them), so that a block
    // freed and another allocated at the same address never share a handle.
    internal const long HandleTag = 1L << 62;
    private static long s_lastId;

    private int _refCount = 1;
    private readonly Action<LargeBuffer> _onFreed;

    internal LargeBuffer(int size, Action<LargeBuffer> onFreed)
    {
        Size = size;
        Pointer = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(size, 1), 64);
        Handle = (nint)(HandleTag | Interlocked.Increment(ref s_lastId));
        _onFreed = onFreed;
    }

    /// <summary>Address of the block (64-byte aligned).</summary>
    public nint Pointer { get; }

    /// <summary>The block's <see cref="Sga.Handle"/>: unique for the process's life, never an address.</summary>
    public nint Handle { get; }

    /// <summary>Size of the block in bytes.</summary>
    public int Size { get; }

    /// <summary>Current number of references (1 when allocated, 0 once freed).</summary>
    public int RefCount => Volatile.Read(ref _refCount);

    /// <summary>Takes one more reference; throws if the buffer was already freed.</summary>
    public void AddRef()
    {
        if (Interlocked.Increment(ref _refCount) <= 1)
            throw new InvalidOperationException("Buffer used after it was freed.");
    }

    /// <summary>Drops a reference and frees the block when the last one goes. Returns true if it did.</summary>
    public bool Release()
    {
        int after = Interlocked.Decrement(ref _refCount);
        if (after > 0)
            return false;
        if (after < 0)
            throw new InvalidOperationException("Buffer freed twice.");
        _onFreed(this);
        NativeMemory.AlignedFree((void*)Pointer);
        return true;
    }
}
