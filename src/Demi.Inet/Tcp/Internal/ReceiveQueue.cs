using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>In-order received payloads waiting for the application: received buffers, headers stripped in place, never copied.</summary>
internal sealed class ReceiveQueue
{
    private PacketBuffer[] _ring = new PacketBuffer[16];
    private int _head;
    private int _count;

    public long Bytes { get; private set; }

    public int Count => _count;

    /// <summary>Payloads at most this long are copied onto the previous buffer's tail instead of holding a frame each.</summary>
    public const int CoalesceLimit = 512;

    /// <summary>Bytes copied to coalesce small segments.</summary>
    public long CoalescedBytes { get; private set; }

    /// <summary>
    /// Appends a payload (taking over its reference). A small payload is copied onto the tail
    /// buffer when it fits and nobody else holds that buffer, so a peer sending tiny segments cannot
    /// pin one pool frame per byte.
    /// </summary>
    public void Enqueue(PacketBuffer buffer)
    {
        if (_count > 0 && buffer.Length <= CoalesceLimit)
        {
            ref var tail = ref _ring[(_head + _count - 1) % _ring.Length];
            if (tail.TailroomLeft >= buffer.Length && tail.Pool.RefCount(tail.Index) == 1)
            {
                buffer.Span.CopyTo(tail.Append(buffer.Length));
                Bytes += buffer.Length;
                CoalescedBytes += buffer.Length;
                buffer.Release();
                return;
            }
        }
        if (_count == _ring.Length)
        {
            var bigger = new PacketBuffer[_ring.Length * 2];
            for (int i = 0; i < _count; i++)
                bigger[i] = _ring[(_head + i) % _ring.Length];
            _ring = bigger;
            _head = 0;
        }
        _ring[(_head + _count) % _ring.Length] = buffer;
        _count++;
        Bytes += buffer.Length;
    }

    public bool TryDequeue(out PacketBuffer buffer)
    {
        if (_count == 0)
        {
            buffer = default;
            return false;
        }
        buffer = _ring[_head];
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        _count--;
        Bytes -= buffer.Length;
        return true;
    }

    /// <summary>Copies and consumes up to <c>destination.Length</c> bytes; returns bytes copied.</summary>
    public int Read(Span<byte> destination)
    {
        int copied = 0;
        while (copied < destination.Length && _count > 0)
        {
            ref var head = ref _ring[_head];
            int n = Math.Min(head.Length, destination.Length - copied);
            head.Span[..n].CopyTo(destination[copied..]);
            copied += n;
            Bytes -= n;
            if (n == head.Length)
            {
                head.Release();
                head = default;
                _head = (_head + 1) % _ring.Length;
                _count--;
            }
            else
            {
                head.TrimFront(n);
            }
        }
        return copied;
    }

    public void Clear()
    {
        while (TryDequeue(out var buffer))
            buffer.Release();
        _head = 0;
    }
}
