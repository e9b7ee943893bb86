using System.Runtime.InteropServices;

namespace Demi.Buffers;

/// <summary>
/// A buffer too big for the pool (or allocated while the pool was empty): its own pinned native
/// block with a reference count. Slower to allocate, same semantics.
/// </summary>
public sealed unsafe class LargeBuffer
{
    private int _refCount = 1;
    private readonly Action<LargeBuffer> _onFreed;

    internal LargeBuffer(int size, Action<LargeBuffer> onFreed)
    {
        Size = size;
        Pointer = (nint)NativeMemory.AlignedAlloc((nuint)Math.Max(size, 1), 64);
        _onFreed = onFreed;
    }

    public nint Pointer { get; }

    public int Size { get; }

    public int RefCount => Volatile.Read(ref _refCount);

    public void AddRef()
    {
        if (Interlocked.Increment(ref _refCount) <= 1)
            throw new InvalidOperationException("Buffer used after it was freed.");
    }

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
