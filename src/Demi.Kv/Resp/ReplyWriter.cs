using System.Buffers.Text;
using System.Diagnostics;

namespace Demi.Kv.Resp;

/// <summary>Where a full reply chunk goes: the connection pushes it to its socket.</summary>
internal interface IReplySink
{
    /// <summary>Takes ownership of <paramref name="chunk"/> (already truncated to the bytes written).</summary>
    void OnChunk(in Sga chunk);
}

/// <summary>
/// Writes RESP2 replies straight into <c>SgaAlloc</c> buffers. With a sink (a connection) a full
/// buffer is handed on and writing continues in a fresh one; without (a reply to another shard) the
/// buffer grows so that the whole reply stays one message. Buffers come from the libOS pool, so
/// steady state allocates nothing managed.
/// </summary>
internal sealed unsafe class ReplyWriter
{
    /// <summary>Values larger than this are written in dedicated blocks of up to <see cref="LargeChunk"/> bytes instead of pool buffers.</summary>
    private const int LargeChunk = 1024 * 1024;

    private readonly LibOS _libOS;
    private readonly IReplySink? _sink;
    private readonly int _chunkSize;
    private readonly int _reserved;
    private Sga _sga;
    private byte* _start;
    private byte* _pos;
    private byte* _end;

    /// <param name="libOS">Buffers come from its pool.</param>
    /// <param name="sink">Receives full chunks; null makes a growing single-buffer writer.</param>
    /// <param name="reserved">Bytes kept free at the front of the (single) buffer for a message header.</param>
    public ReplyWriter(LibOS libOS, IReplySink? sink, int reserved = 0)
    {
        _libOS = libOS;
        _sink = sink;
        _reserved = reserved;
        _chunkSize = libOS.Buffers.Pool.Capacity;
    }

    /// <summary>Bytes written into the current buffer (after the reserved header).</summary>
    public int Written => _start == null ? 0 : (int)(_pos - _start) - _reserved;

    /// <summary>True when a failed buffer allocation lost part of a reply (the connection is then closed).</summary>
    public bool Faulted { get; private set; }

    public void SimpleString(ReadOnlySpan<byte> text)
    {
        Ensure(text.Length + 3);
        *_pos++ = (byte)'+';
        Raw(text);
        Crlf();
    }

    /// <summary>An error reply; <paramref name="text"/> starts with its code (ERR, WRONGTYPE, OOM, ...).</summary>
    public void Error(ReadOnlySpan<byte> text)
    {
        Ensure(text.Length + 3);
        *_pos++ = (byte)'-';
        Raw(text);
        Crlf();
    }

    public void Integer(long value)
    {
        Ensure(24);
        *_pos++ = (byte)':';
        Number(value);
        Crlf();
    }

    public void NullBulk() => Raw("$-1\r\n"u8);

    public void NullArray() => Raw("*-1\r\n"u8);

    public void ArrayHeader(long count)
    {
        Ensure(24);
        *_pos++ = (byte)'*';
        Number(count);
        Crlf();
    }

    public void Bulk(ReadOnlySpan<byte> value)
    {
        Ensure(Math.Min(value.Length, 4096) + 16);
        *_pos++ = (byte)'$';
        Number(value.Length);
        Crlf();
        Raw(value);
        Crlf();
    }

    public void BulkNumber(long value)
    {
        Span<byte> digits = stackalloc byte[24];
        Utf8Formatter.TryFormat(value, digits, out int n);
        Bulk(digits[..n]);
    }

    /// <summary>Copies bytes verbatim (a reply computed elsewhere, or part of a bulk).</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_pos == _end)
                Ensure(bytes.Length);
            if (_pos == null)
                return; // allocation failed: Faulted is set
            int n = (int)Math.Min(bytes.Length, _end - _pos);
            bytes[..n].CopyTo(new Span<byte>(_pos, n));
            _pos += n;
            bytes = bytes[n..];
        }
    }

    private void Crlf()
    {
        Ensure(2);
        if (_pos == null)
            return;
        _pos[0] = (byte)'\r';
        _pos[1] = (byte)'\n';
        _pos += 2;
    }

    private void Number(long value)
    {
        if (_pos == null)
            return;
        Utf8Formatter.TryFormat(value, new Span<byte>(_pos, (int)(_end - _pos)), out int n);
        _pos += n;
    }

    /// <summary>Makes room for <paramref name="count"/> contiguous bytes (small writes; bulk data is split).</summary>
    private void Ensure(int count)
    {
        if (_end - _pos >= count && _pos != null)
            return;
        if (_sink is not null)
        {
            Flush();
            int size = count > _chunkSize ? Math.Min(count, LargeChunk) : _chunkSize;
            Allocate(size);
        }
        else
        {
            long used = _start == null ? _reserved : _pos - _start;
            long capacity = _start == null ? 0 : _end - _start;
            long size = Math.Max(Math.Max(_chunkSize, used + count), Math.Min(2 * capacity, used + count + LargeChunk));
            var old = _sga;
            byte* oldStart = _start;
            Allocate((int)Math.Min(size, _libOS.Buffers.MaxAllocation));
            if (_pos == null)
                return;
            if (oldStart != null)
            {
                Buffer.MemoryCopy(oldStart, _start, _end - _start, used);
                _libOS.SgaFree(old);
            }
            _pos = _start + used;
        }
    }

    private void Allocate(int size)
    {
        // Not zeroed: a buffer leaves this writer truncated to the bytes written into it (Flush,
        // Take), so no earlier owner's bytes are ever pushed. Zeroing a pool-sized buffer for a
        // 150-byte reply batch was 1.8 % of the shard's samples under redis-benchmark -P 16.
        _sga = _libOS.SgaAllocUninitialized(size);
        if (!_sga.IsAllocated)
        {
            Faulted = true;
            _start = _pos = _end = null;
            return;
        }
        _start = (byte*)_sga.Segment.Buffer;
        _pos = _start;
        _end = _start + _sga.Length;
        if (_sink is null && _reserved > 0)
            _pos = _start + _reserved;
    }

    /// <summary>Hands the current buffer (if anything was written) to the sink.</summary>
    public void Flush()
    {
        Debug.Assert(_sink is not null);
        if (_start == null)
            return;
        int written = (int)(_pos - _start);
        var sga = _sga;
        _sga = default;
        _start = _pos = _end = null;
        if (written == 0)
        {
            _libOS.SgaFree(sga);
            return;
        }
        sga.Truncate(written);
        _sink!.OnChunk(sga);
    }

    /// <summary>Single-buffer mode: takes the buffer (header space included) and starts over. Default if nothing was written.</summary>
    public Sga Take(out byte* start)
    {
        Debug.Assert(_sink is null);
        if (_start == null)
            Ensure(0);
        start = _start;
        var sga = _sga;
        if (_start != null)
            sga.Truncate((int)(_pos - _start));
        _sga = default;
        _start = _pos = _end = null;
        return sga;
    }

    /// <summary>Returns an unflushed buffer to the pool (the connection is closing).</summary>
    public void Discard()
    {
        if (_start != null)
            _libOS.SgaFree(_sga);
        _sga = default;
        _start = _pos = _end = null;
    }
}
