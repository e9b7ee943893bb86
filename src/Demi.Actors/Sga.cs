using System.Runtime.InteropServices;

namespace Demi;

/// <summary>One segment of a scatter-gather array (<c>demi_sgaseg_t</c>, 12 bytes packed).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct SgaSegment
{
    /// <summary>Start of the segment's bytes. An app may advance it inside the allocation before a push.</summary>
    public nint Buffer;

    /// <summary>Length in bytes. An app may reduce it before a push.</summary>
    public uint Length;
}

/// <summary>
/// A scatter-gather array, byte-compatible with Demikernel's <c>demi_sgarray_t</c> (40 bytes packed).
/// It is a view of a libOS-owned, pinned buffer: allocate with <c>LibOS.SgaAlloc</c>, free with
/// <c>LibOS.SgaFree</c> (popped arrays are the app's to free too).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
public struct Sga
{
    /// <summary>Demikernel allows one segment per array.</summary>
    public const int MaxSegments = 1;

    /// <summary>The libOS's opaque handle of the underlying buffer.</summary>
    public nint Handle;

    /// <summary>Number of segments (0 for an empty or failed allocation, else 1).</summary>
    public uint NumSegments;

    /// <summary>The single segment.</summary>
    public SgaSegment Segment;

    /// <summary>Source address of a popped UDP datagram; zero otherwise.</summary>
    public SockAddrIn Address;

    /// <summary>True when this array names a buffer (a failed allocation has a zero handle).</summary>
    public readonly bool IsAllocated => Handle != 0 && NumSegments != 0;

    /// <summary>Length of the segment in bytes.</summary>
    public readonly int Length => (int)Segment.Length;

    /// <summary>The segment's bytes. Valid until the array is freed.</summary>
    /// <exception cref="ObjectDisposedException">The libOS (its buffer pool) that owns the array was disposed.</exception>
    public readonly unsafe Span<byte> Span
    {
        get
        {
            if (Segment.Buffer == 0)
                return default;
            // A pool handle is an address in its pool's region; once the pool is gone, so is the memory.
            if (Handle != 0 && (Handle & Buffers.LargeBuffer.HandleTag) == 0 && !Buffers.BufferRegions.Contains(Handle))
                ThrowHelper.ThrowObjectDisposed("The libOS that owns this sga was disposed.");
            return new Span<byte>((void*)Segment.Buffer, (int)Segment.Length);
        }
    }

    /// <summary>Shrinks the segment to its first <paramref name="length"/> bytes.</summary>
    public void Truncate(int length)
    {
        if ((uint)length > Segment.Length)
            ThrowHelper.ThrowArgument("Cannot grow a segment.", nameof(length));
        Segment.Length = (uint)length;
    }

    /// <summary>Copies the segment into a new array (for tests and diagnostics, not the data path).</summary>
    public readonly byte[] ToArray() => Span.ToArray();
}
