namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// The sender's record of what the peer SACKed above SND.UNA (RFC 2018, RFC 6675): disjoint sorted
/// ranges, merged on insert, trimmed as the cumulative ACK advances. Fixed capacity, no allocation.
/// </summary>
internal sealed class SackScoreboard
{
    private const int Capacity = 32;
    private readonly uint[] _starts = new uint[Capacity];
    private readonly uint[] _ends = new uint[Capacity];
    private int _count;

    public int Count => _count;

    /// <summary>Total bytes SACKed.</summary>
    public long SackedBytes { get; private set; }

    /// <summary>Highest SACKed sequence number (end of the last range); only meaningful when Count &gt; 0.</summary>
    public uint HighestSacked => _ends[_count - 1];

    public void Clear()
    {
        _count = 0;
        SackedBytes = 0;
    }

    /// <summary>Adds a block after validating it lies in (una, sndMax].</summary>
    public void Add(uint start, uint end, uint una, uint sndMax)
    {
        if (!SeqNum.Lt(start, end) || SeqNum.Le(end, una) || SeqNum.Gt(end, sndMax))
            return;
        if (SeqNum.Lt(start, una))
            start = una;
        int i = 0;
        while (i < _count && SeqNum.Lt(_ends[i], start))
            i++;
        // Merge with every range overlapping or touching [start, end).
        int j = i;
        while (j < _count && SeqNum.Le(_starts[j], end))
        {
            start = SeqNum.Min(start, _starts[j]);
            end = SeqNum.Max(end, _ends[j]);
            j++;
        }
        int removed = j - i;
        if (removed == 0 && _count == Capacity)
            return; // full: forget the block (only costs a spurious retransmission)
        if (removed != 1)
        {
            int shift = 1 - removed;
            Array.Copy(_starts, j, _starts, j + shift, _count - j);
            Array.Copy(_ends, j, _ends, j + shift, _count - j);
            _count += shift;
        }
        _starts[i] = start;
        _ends[i] = end;
        Recount();
    }

    /// <summary>Forgets everything below the new cumulative ACK.</summary>
    public void OnCumulativeAck(uint una)
    {
        int drop = 0;
        while (drop < _count && SeqNum.Le(_ends[drop], una))
            drop++;
        if (drop > 0)
        {
            Array.Copy(_starts, drop, _starts, 0, _count - drop);
            Array.Copy(_ends, drop, _ends, 0, _count - drop);
            _count -= drop;
        }
        if (_count > 0 && SeqNum.Lt(_starts[0], una))
            _starts[0] = una;
        Recount();
    }

    private void Recount()
    {
        long total = 0;
        for (int i = 0; i < _count; i++)
            total += _ends[i] - _starts[i];
        SackedBytes = total;
    }

    /// <summary>
    /// The first not-SACKed hole at or after <paramref name="from"/> and below the highest SACKed byte:
    /// returns false when none; else its [start, end).
    /// </summary>
    public bool NextHole(uint from, out uint holeStart, out uint holeEnd)
    {
        holeStart = from;
        holeEnd = from;
        for (int i = 0; i < _count; i++)
        {
            if (SeqNum.Lt(holeStart, _starts[i]))
            {
                holeEnd = _starts[i];
                return true;
            }
            if (SeqNum.Lt(holeStart, _ends[i]))
                holeStart = _ends[i];
        }
        return false;
    }

    /// <summary>Bytes not SACKed in [from, highest SACKed): the lost-but-not-yet-retransmitted estimate.</summary>
    public long UnsackedBelowHighest(uint from)
    {
        long total = 0;
        uint at = from;
        for (int i = 0; i < _count; i++)
        {
            if (SeqNum.Lt(at, _starts[i]))
                total += _starts[i] - at;
            if (SeqNum.Lt(at, _ends[i]))
                at = _ends[i];
        }
        return total;
    }

    /// <summary>If <paramref name="seq"/> is inside a SACKed range, returns that range's end; else returns <paramref name="seq"/>.</summary>
    public uint SkipSacked(uint seq)
    {
        for (int i = 0; i < _count; i++)
        {
            if (SeqNum.Ge(seq, _starts[i]) && SeqNum.Lt(seq, _ends[i]))
                return _ends[i];
        }
        return seq;
    }

    /// <summary>Start of the first SACKed range above <paramref name="seq"/>, or <paramref name="limit"/> when none.</summary>
    public uint NextSackedStart(uint seq, uint limit)
    {
        for (int i = 0; i < _count; i++)
        {
            if (SeqNum.Gt(_starts[i], seq))
                return SeqNum.Min(_starts[i], limit);
        }
        return limit;
    }
}
