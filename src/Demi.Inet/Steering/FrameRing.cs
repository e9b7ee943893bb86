using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Demi.Buffers;

namespace Demi.Inet.Internal;

/// <summary>
/// A bounded single-producer single-consumer ring of frames between two shards: lock-free and
/// allocation-free. The producer publishes slots with a release store of the tail, the consumer
/// frees them with a release store of the head; each side caches the other's index so that it
/// touches the shared cache line only when its cached view says the ring is full or empty.
/// </summary>
internal sealed class FrameRing
{
    private readonly PacketBuffer[] _slots;
    private readonly int _mask;
    private Indices _indices;

    // Head and tail on their own cache lines: the producer writes one, the consumer the other.
    [StructLayout(LayoutKind.Explicit, Size = 4 * 64)]
    private struct Indices
    {
        [FieldOffset(64)] public long Tail;          // written by the producer
        [FieldOffset(72)] public long CachedHead;    // producer's private copy of Head
        [FieldOffset(128)] public long Head;         // written by the consumer
        [FieldOffset(136)] public long CachedTail;   // consumer's private copy of Tail
    }

    public FrameRing(int capacity)
    {
        if (capacity < 2 || (capacity & (capacity - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(capacity), "A power of two of at least 2.");
        _slots = new PacketBuffer[capacity];
        _mask = capacity - 1;
    }

    public int Capacity => _slots.Length;

    /// <summary>Frames in the ring (approximate when read by a third thread).</summary>
    public int Count => (int)(Volatile.Read(ref _indices.Tail) - Volatile.Read(ref _indices.Head));

    /// <summary>Producer: appends a frame (its reference moves into the ring); false when full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(in PacketBuffer frame)
    {
        long tail = _indices.Tail;
        if (tail - _indices.CachedHead >= _slots.Length)
        {
            _indices.CachedHead = Volatile.Read(ref _indices.Head);
            if (tail - _indices.CachedHead >= _slots.Length)
                return false;
        }
        _slots[tail & _mask] = frame;
        Volatile.Write(ref _indices.Tail, tail + 1);
        return true;
    }

    /// <summary>Consumer: moves up to <c>into.Length</c> frames out (their references move to the caller).</summary>
    public int Dequeue(Span<PacketBuffer> into)
    {
        long head = _indices.Head;
        if (_indices.CachedTail - head < into.Length)
            _indices.CachedTail = Volatile.Read(ref _indices.Tail);
        int n = (int)Math.Min(_indices.CachedTail - head, into.Length);
        for (int i = 0; i < n; i++)
        {
            ref var slot = ref _slots[(head + i) & _mask];
            into[i] = slot;
            slot = default; // drop the pool reference held by the slot array
        }
        if (n > 0)
            Volatile.Write(ref _indices.Head, head + n);
        return n;
    }
}
