using Demi.Buffers;
using Demi.Inet.Nic;

namespace Demi.Inet.Wire;

/// <summary>One port of a <see cref="VirtualWire"/>: an <see cref="INicQueue"/> with its own pinned buffer pool.</summary>
public sealed class VirtualNicQueue : INicQueue
{
    private struct InFlight
    {
        public long DeliverAt;
        public long Sequence;
        public PacketBuffer Frame;
    }

    private readonly VirtualWire _wire;
    // Min-heap by (DeliverAt, Sequence): delayed and reordered frames come out in arrival-time order.
    private readonly InFlight[] _heap;
    private int _count;

    internal VirtualNicQueue(VirtualWire wire, MacAddress mac, VirtualWireOptions options)
    {
        _wire = wire;
        MacAddress = mac;
        Mtu = options.Mtu;
        Pool = new BufferPool(options.BufferSize, options.BufferCount, options.Headroom);
        _heap = new InFlight[options.ReceiveCapacity];
    }

    public MacAddress MacAddress { get; }

    public int Mtu { get; }

    /// <summary>Offloads the port claims (none by default; a test may claim some).</summary>
    public NicOffloads Offloads { get; set; }

    public BufferPool Pool { get; }

    public int WaitFd => -1;

    internal bool IsDisposed { get; private set; }

    /// <summary>Frames sent through this port.</summary>
    public long TransmittedFrames { get; private set; }

    /// <summary>Frames waiting on the wire for this port (including those not yet due).</summary>
    public int InFlightCount => _count;

    public int Receive(Span<PacketBuffer> frames) => IsDisposed ? 0 : _wire.Take(this, frames);

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        foreach (var frame in frames)
        {
            _wire.Carry(this, frame.Span);
            frame.Release(); // the wire copied it: the transmission is complete
        }
        TransmittedFrames += frames.Length;
        return frames.Length;
    }

    /// <summary>Copies <paramref name="frame"/> into a buffer and transmits it (for tests that act as a raw peer).</summary>
    public bool TransmitCopy(ReadOnlySpan<byte> frame)
    {
        if (!PacketBuffer.TryRent(Pool, out var buffer))
            return false;
        frame.CopyTo(buffer.Append(frame.Length));
        return Transmit([buffer]) == 1;
    }

    public void Flush()
    {
    }

    internal bool Enqueue(ReadOnlySpan<byte> frame, long deliverAt, long sequence)
    {
        if (_count == _heap.Length || frame.Length > Pool.Capacity || !PacketBuffer.TryRent(Pool, out var buffer))
            return false;
        frame.CopyTo(buffer.Append(frame.Length));
        int i = _count++;
        var item = new InFlight { DeliverAt = deliverAt, Sequence = sequence, Frame = buffer };
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Less(item, _heap[parent]))
                break;
            _heap[i] = _heap[parent];
            i = parent;
        }
        _heap[i] = item;
        return true;
    }

    internal int Dequeue(Span<PacketBuffer> frames, long now)
    {
        int n = 0;
        while (n < frames.Length && _count > 0 && _heap[0].DeliverAt <= now)
        {
            frames[n++] = _heap[0].Frame;
            var last = _heap[--_count];
            _heap[_count] = default;
            if (_count > 0)
                SiftDown(last);
        }
        return n;
    }

    private void SiftDown(InFlight item)
    {
        int i = 0;
        while (true)
        {
            int child = 2 * i + 1;
            if (child >= _count)
                break;
            if (child + 1 < _count && Less(_heap[child + 1], _heap[child]))
                child++;
            if (!Less(_heap[child], item))
                break;
            _heap[i] = _heap[child];
            i = child;
        }
        _heap[i] = item;
    }

    private static bool Less(in InFlight a, in InFlight b) => a.DeliverAt < b.DeliverAt || (a.DeliverAt == b.DeliverAt && a.Sequence < b.Sequence);

    public void Dispose()
    {
        if (IsDisposed)
            return;
        IsDisposed = true;
        // The pool is not freed: frames popped by an application may still point into it.
    }
}
