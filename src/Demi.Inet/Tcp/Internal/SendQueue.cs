using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// The bytes an application pushed and the peer has not acknowledged yet: a ring of buffer windows
/// whose references the queue holds until the bytes are acknowledged (then released), so a push
/// never copies its payload into a staging area. Segments are cut from it at any offset, which is
/// what lets a retransmission re-packetize small pushes into full-sized segments.
/// </summary>
internal sealed class SendQueue
{
    private PacketBuffer[] _ring = new PacketBuffer[16];
    private int _head;
    private int _count;
    // Cursor: the ring position and its logical byte offset of the last lookup, because segment
    // lookups walk forward through the queue.
    private int _cursorPos;
    private long _cursorOffset;

    /// <summary>Bytes held.</summary>
    public long Bytes { get; private set; }

    public int Count => _count;

    /// <summary>Appends a window; the queue takes over the caller's reference.</summary>
    public void Enqueue(PacketBuffer buffer)
    {
        if (_count == _ring.Length)
            Grow();
        _ring[(_head + _count) % _ring.Length] = buffer;
        _count++;
        Bytes += buffer.Length;
    }

    private void Grow()
    {
        // Amortized: the ring doubles only while the send buffer's entry count grows.
        var bigger = new PacketBuffer[_ring.Length * 2];
        for (int i = 0; i < _count; i++)
            bigger[i] = _ring[(_head + i) % _ring.Length];
        int cursorIndex = (_cursorPos - _head + _ring.Length) % _ring.Length;
        _ring = bigger;
        _head = 0;
        _cursorPos = _count == 0 ? 0 : cursorIndex;
    }

    /// <summary>Drops <paramref name="count"/> acknowledged bytes from the front, releasing emptied buffers.</summary>
    public void Consume(long count)
    {
        while (count > 0 && _count > 0)
        {
            ref var head = ref _ring[_head];
            if (head.Length <= count)
            {
                count -= head.Length;
                Bytes -= head.Length;
                head.Release();
                head = default;
                _head = (_head + 1) % _ring.Length;
                _count--;
            }
            else
            {
                head.TrimFront((int)count);
                Bytes -= count;
                count = 0;
            }
        }
        _cursorPos = _head;
        _cursorOffset = 0;
    }

    /// <summary>Copies up to <c>destination.Length</c> bytes starting <paramref name="offset"/> bytes into the queue; returns bytes copied.</summary>
    public int CopyTo(long offset, Span<byte> destination)
    {
        if (offset < _cursorOffset)
        {
            _cursorPos = _head;
            _cursorOffset = 0;
        }
        int pos = _cursorPos;
        long at = _cursorOffset;
        int index = (pos - _head + _ring.Length) % _ring.Length;
        // Walk to the entry holding offset.
        while (index < _count && at + _ring[pos].Length <= offset)
        {
            at += _ring[pos].Length;
            pos = (pos + 1) % _ring.Length;
            index++;
        }
        _cursorPos = pos;
        _cursorOffset = at;
        int copied = 0;
        while (copied < destination.Length && index < _count)
        {
            var entry = _ring[pos];
            int skip = (int)(offset + copied - at);
            int n = Math.Min(entry.Length - skip, destination.Length - copied);
            entry.Span.Slice(skip, n).CopyTo(destination[copied..]);
            copied += n;
            at += entry.Length;
            pos = (pos + 1) % _ring.Length;
            index++;
        }
        return copied;
    }

    /// <summary>True when an entry starts exactly <paramref name="offset"/> bytes into the queue and holds exactly <paramref name="length"/> bytes.</summary>
    public bool TryGetEntryAt(long offset, int length, out PacketBuffer entry)
    {
        if (offset < _cursorOffset)
        {
            _cursorPos = _head;
            _cursorOffset = 0;
        }
        int pos = _cursorPos;
        long at = _cursorOffset;
        int index = (pos - _head + _ring.Length) % _ring.Length;
        while (index < _count && at < offset)
        {
            at += _ring[pos].Length;
            pos = (pos + 1) % _ring.Length;
            index++;
        }
        if (index < _count && at == offset && _ring[pos].Length == length)
        {
            entry = _ring[pos];
            return true;
        }
        entry = default;
        return false;
    }

    /// <summary>Releases everything (connection aborted or finished).</summary>
    public void Clear()
    {
        while (_count > 0)
        {
            _ring[_head].Release();
            _ring[_head] = default;
            _head = (_head + 1) % _ring.Length;
            _count--;
        }
        Bytes = 0;
        _head = 0;
        _cursorPos = 0;
        _cursorOffset = 0;
    }
}
