using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// An AF_XDP UMEM: one page-aligned native region of equal frames registered with the kernel, and
/// exposed as a <see cref="BufferPool"/> (frame index = UMEM address / frame size). Buffers the app
/// rents from <see cref="Pool"/> are UMEM frames, so they go on a TX ring as they are. Several
/// <see cref="XdpNicQueue"/>s (queues of one interface) may share one UMEM.
/// The UMEM is created in the calling thread's network namespace (or the named one)
/// and its first socket must bind to an interface there.
/// </summary>
public sealed unsafe class XdpUmem : IDisposable
{
    private nint _handle;
    private byte* _region;
    private XskRing* _fill;
    private XskRing* _comp;
    private bool _initialRingsTaken;
    private int _sockets;
    private int _disposed;

    /// <summary>Creates and registers a UMEM of <paramref name="frameCount"/> frames.</summary>
    public XdpUmem(int frameCount = 4096, int frameSize = 2048, int headroom = 256, int fillSize = 2048, int completionSize = 2048,
        string? networkNamespace = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(frameCount, 1);
        if (frameSize is not (2048 or 4096))
            throw new ArgumentOutOfRangeException(nameof(frameSize), "AF_XDP aligned mode takes 2048 or 4096 byte frames.");
        if (!IsPowerOfTwo(fillSize) || !IsPowerOfTwo(completionSize))
            throw new ArgumentException("Ring sizes must be powers of two.");
        FrameSize = frameSize;
        FrameCount = frameCount;
        FillSize = fillSize;
        CompletionSize = completionSize;
        ulong size = (ulong)frameCount * (ulong)frameSize;
        _region = (byte*)NativeMemory.AlignedAlloc((nuint)size, 4096);
        new Span<byte>(_region, (int)Math.Min(size, int.MaxValue)).Clear();
        _fill = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
        _comp = (XskRing*)NativeMemory.AllocZeroed((nuint)sizeof(XskRing));
        var config = new XskUmemConfig
        {
            FillSize = (uint)fillSize,
            CompSize = (uint)completionSize,
            FrameSize = (uint)frameSize,
            FrameHeadroom = 0,
            Flags = 0,
        };
        nint handle;
        int rc;
        NativeLog.BeginStep();
        using (networkNamespace is null ? null : NetworkNamespaceScope.Enter(networkNamespace))
            rc = LibXdp.xsk_umem__create(&handle, _region, size, _fill, _comp, &config);
        if (rc != 0)
        {
            FreeNative();
            ThrowHelper.ThrowXdp("xsk_umem__create", -rc);
        }
        _handle = handle;
        Pool = new BufferPool((nint)_region, frameSize, frameCount, headroom);
    }

    /// <summary>The frames as a buffer pool.</summary>
    public BufferPool Pool { get; }

    /// <summary>Frame size in bytes.</summary>
    public int FrameSize { get; }

    /// <summary>Number of frames.</summary>
    public int FrameCount { get; }

    /// <summary>Fill ring size of each socket on this UMEM.</summary>
    public int FillSize { get; }

    /// <summary>Completion ring size of each socket on this UMEM.</summary>
    public int CompletionSize { get; }

    internal nint Handle => _handle;

    /// <summary>
    /// Lends the ring structs this UMEM was created with to the socket being created, until one socket
    /// takes them (<see cref="InitialRingsTaken"/>). libxdp keeps them as the rings of its first socket;
    /// given other structs, it copies the ring pointers into them, and a create that then fails (a busy
    /// queue, a mode the driver lacks) unmaps the rings while libxdp still holds them, so that
    /// <c>xsk_umem__delete</c> unmaps the same range a second time, taking with it whatever the process
    /// mapped there in between (the AF_XDP test host crashed so in exception dispatch). Handed its own
    /// structs, a failed create leaves the rings mapped, once, and the UMEM usable.
    /// </summary>
    internal bool TryLendInitialRings(out XskRing* fill, out XskRing* comp)
    {
        bool available = !Volatile.Read(ref _initialRingsTaken) && _fill != null;
        fill = available ? _fill : null;
        comp = available ? _comp : null;
        return available;
    }

    /// <summary>A socket was created on the lent rings: libxdp has handed them over, and later sockets map their own.</summary>
    internal void InitialRingsTaken() => Volatile.Write(ref _initialRingsTaken, true);

    internal void AddSocket() => Interlocked.Increment(ref _sockets);

    internal void RemoveSocket() => Interlocked.Decrement(ref _sockets);

    private static bool IsPowerOfTwo(int v) => v > 0 && (v & (v - 1)) == 0;

    /// <summary>Unregisters the UMEM and frees its memory. All sockets on it must be closed first.</summary>
    public void Dispose()
    {
        if (Volatile.Read(ref _sockets) != 0)
            ThrowHelper.ThrowInvalidOperation("Close the XdpNicQueues on this UMEM before disposing it.");
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (_handle != 0)
        {
            int rc = LibXdp.xsk_umem__delete(_handle);
            if (rc != 0)
                ThrowHelper.ThrowXdp("xsk_umem__delete", -rc);
            _handle = 0;
        }
        Pool.Dispose();
        FreeNative();
    }

    private void FreeNative()
    {
        if (_region != null)
            NativeMemory.AlignedFree(_region);
        if (_fill != null)
            NativeMemory.Free(_fill);
        if (_comp != null)
            NativeMemory.Free(_comp);
        _region = null;
        _fill = null;
        _comp = null;
    }
}
