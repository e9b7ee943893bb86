using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// Segments received above RCV.NXT, sorted by sequence number, held (zero-copy) until the hole
/// before them fills. Overlaps are resolved when segments are drained in order.
/// </summary>
internal sealed class OutOfOrderQueue
{
    private uint[] _seqs = new uint[16];
    private PacketBuffer[] _buffers = new PacketBuffer[16];
    private int _count;

    /// <summary>Most segments held (bounds the frames a peer can pin with scattered tiny segments).</summary>
    public const int MaxSegments = 512;

    public int Count => _count;

    public long Bytes { get; private set; }

    /// <summary>Inserts a segment (taking over its reference); returns false (and releases it) when it duplicates what is held.</summary>
    public bool Insert(uint seq, PacketBuffer buffer)
    {
        int i = _count;
        while (i > 0 && SeqNum.Gt(_seqs[i - 1], seq))
            i--;
        // Exact or covered duplicate of the predecessor: drop it.
        if (i > 0 && SeqNum.Ge(_seqs[i - 1] + (uint)_buffers[i - 1].Length, seq + (uint)buffer.Length))
        {
            buffer.Release();
            return false;
        }
        if (i < _count && _seqs[i] == seq && _buffers[i].Length >= buffer.Length)
        {
            buffer.Release();
            return false;
        }
        if (_count == MaxSegments)
        {
            buffer.Release(); // full: the sender will retransmit it
            return false;
        }
        if (_count == _seqs.Length)
        {
            Array.Resize(ref _seqs, _count * 2);
            Array.Resize(ref _buffers, _count * 2);
        }
        Array.Copy(_seqs, i, _seqs, i + 1, _count - i);
        Array.Copy(_buffers, i, _buffers, i + 1, _count - i);
        _seqs[i] = seq;
        _buffers[i] = buffer;
        _count++;
        Bytes += buffer.Length;
        return true;
    }

    /// <summary>Sequence number of the first held segment (only when <see cref="Count"/> &gt; 0).</summary>
    public uint FirstSeq => _seqs[0];

    /// <summary>Removes the first segment.</summary>
    public PacketBuffer RemoveFirst(out uint seq)
    {
        seq = _seqs[0];
        var buffer = _buffers[0];
        _count--;
        Array.Copy(_seqs, 1, _seqs, 0, _count);
        Array.Copy(_buffers, 1, _buffers, 0, _count);
        _buffers[_count] = default;
        Bytes -= buffer.Length;
        return buffer;
    }

    /// <summary>Writes the held data as merged [start,end) blocks, the one containing <paramref name="recent"/> first (RFC 2018 §4); returns the count.</summary>
    public int GetSackBlocks(Span<SackBlock> blocks, uint recent)
    {
        if (_count == 0 || blocks.Length == 0)
            return 0;
        Span<SackBlock> merged = stackalloc SackBlock[Math.Min(_count, 16)];
        int m = 0;
        uint start = _seqs[0], end = _seqs[0] + (uint)_buffers[0].Length;
        for (int i = 1; i < _count; i++)
        {
            uint s = _seqs[i], e = s + (uint)_buffers[i].Length;
            if (SeqNum.Le(s, end))
            {
                end = SeqNum.Max(end, e);
            }
            else
            {
                if (m < merged.Length)
                    merged[m++] = new SackBlock(start, end);
                start = s;
                end = e;
            }
        }
        if (m < merged.Length)
            merged[m++] = new SackBlock(start, end);
        int recentIndex = 0;
        for (int i = 0; i < m; i++)
        {
            if (SeqNum.Ge(recent, merged[i].Start) && SeqNum.Lt(recent, merged[i].End))
            {
                recentIndex = i;
                break;
            }
        }
        int n = 0;
        blocks[n++] = merged[recentIndex];
        for (int i = m - 1; i >= 0 && n < blocks.Length; i--)
        {
            if (i != recentIndex)
                blocks[n++] = merged[i];
        }
        return n;
    }

    public void Clear()
    {
        for (int i = 0; i < _count; i++)
        {
            _buffers[i].Release();
            _buffers[i] = default;
        }
        _count = 0;
        Bytes = 0;
    }
}
