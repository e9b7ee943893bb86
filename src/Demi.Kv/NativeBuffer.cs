using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Demi.Kv;

/// <summary>
/// A growable block of native memory owned by one shard thread: the carry-over of requests that
/// span several pops. Consumed from the front without moving bytes (moved once, before the next
/// append). Grows to its high-water mark and stays there, so steady state allocates nothing.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private byte* _block;
    private int _capacity;
    private int _start;
    private int _end;

    /// <summary>First unconsumed byte.</summary>
    public byte* Data => _block + _start;

    public int Length => _end - _start;

    public int Capacity => _capacity;

    /// <summary>Appends <paramref name="bytes"/>, growing the block if needed.</summary>
    public void Append(byte* bytes, int count)
    {
        Reserve(Length + count);
        Buffer.MemoryCopy(bytes, _block + _end, _capacity - _end, count);
        _end += count;
    }

    /// <summary>Makes room for at least <paramref name="total"/> unconsumed bytes (moves them to the front).</summary>
    public void Reserve(int total)
    {
        Compact();
        if (total <= _capacity)
            return;
        int grown = (int)Math.Min(int.MaxValue, Math.Max(total, Math.Max(4096L, 2L * _capacity)));
        _block = (byte*)NativeMemory.Realloc(_block, (nuint)grown);
        _capacity = grown;
    }

    private void Compact()
    {
        if (_start == 0)
            return;
        int rest = Length;
        if (rest > 0)
            Buffer.MemoryCopy(_block + _start, _block, _capacity, rest);
        _start = 0;
        _end = rest;
    }

    /// <summary>Drops the first <paramref name="count"/> unconsumed bytes.</summary>
    public void Consume(int count)
    {
        Debug.Assert(count <= Length);
        _start += count;
        if (_start == _end)
            _start = _end = 0;
    }

    /// <summary>Gives the block back when it is empty and larger than <paramref name="keep"/> (after a big request).</summary>
    public void TrimIfEmpty(int keep)
    {
        if (Length == 0 && _capacity > keep)
        {
            NativeMemory.Free(_block);
            _block = null;
            _capacity = _start = _end = 0;
        }
    }

    public void Dispose()
    {
        if (_block != null)
            NativeMemory.Free(_block);
        _block = null;
        _capacity = _start = _end = 0;
    }
}
