using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Demi.Kv.Storage;

/// <summary>What a key holds.</summary>
internal enum ValueKind : byte
{
    String,
    List,
}

/// <summary>
/// One shard's keys: a chained hash table whose entries are structs in one array, with each key and
/// string value in one native block (key bytes, then value bytes). Overwriting a value that fits the
/// block reuses it, so SET/GET of existing keys allocates nothing. Touched by its shard's thread only.
/// Lists (there so that a type mismatch can be answered with -WRONGTYPE as Redis does) are managed.
/// </summary>
internal sealed unsafe class KeyTable : IDisposable
{
    /// <summary>Bookkeeping charged per key against the memory cap, besides its block.</summary>
    public const int EntryOverhead = 64;

    private const int BlockAlignment = 16;

    private int[] _buckets;
    private Entry[] _entries;
    private int _count;
    private int _freeList = -1;
    private int _used; // entries ever handed out (free ones included)
    private long _sweepCursor;

    public KeyTable(int initialCapacity = 1024)
    {
        int size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, initialCapacity));
        _buckets = new int[size];
        Array.Fill(_buckets, -1);
        _entries = new Entry[size];
    }

    /// <summary>Keys held (expired ones not yet reaped included, as Redis counts them).</summary>
    public int Count => _count;

    /// <summary>Bytes charged against the memory cap.</summary>
    public long MemoryUsed { get; private set; }

    public struct Entry
    {
        public int HashCode;
        public int Next;
        public byte* Block;
        public int KeyLength;
        public int ValueLength;
        public int Capacity;
        public ValueKind Kind;
        /// <summary>Expiry in <see cref="Environment.TickCount64"/> milliseconds; 0 = none.</summary>
        public long ExpiresAt;
        public List<byte[]>? List;

        public readonly ReadOnlySpan<byte> Key => new(Block, KeyLength);

        public readonly ReadOnlySpan<byte> Value => new(Block + KeyLength, ValueLength);
    }

    /// <summary>The hash the table and the shard partitioning both use (per-process seed).</summary>
    public static int Hash(ReadOnlySpan<byte> key)
    {
        var hash = new HashCode();
        hash.AddBytes(key);
        return hash.ToHashCode();
    }

    /// <summary>Index of a live entry for <paramref name="key"/>, or -1. Expired entries are removed on the way (lazy expiry).</summary>
    public int Find(ReadOnlySpan<byte> key, int hash, long now)
    {
        int index = _buckets[hash & (_buckets.Length - 1)];
        var entries = _entries;
        while (index >= 0)
        {
            ref var e = ref entries[index];
            if (e.HashCode == hash && key.SequenceEqual(e.Key))
            {
                if (e.ExpiresAt != 0 && e.ExpiresAt <= now)
                {
                    Remove(key, hash);
                    return -1;
                }
                return index;
            }
            index = e.Next;
        }
        return -1;
    }

    public ref Entry this[int index] => ref _entries[index];

    /// <summary>
    /// Sets a string value: in place when the key exists and the block fits, else in a new block.
    /// Returns the entry index, or -1 when the memory cap (<paramref name="cap"/>, 0 = none) forbids it.
    /// </summary>
    public int SetString(ReadOnlySpan<byte> key, int hash, ReadOnlySpan<byte> value, int existing, long cap)
    {
        int needed = key.Length + value.Length;
        if (existing >= 0)
        {
            ref var e = ref _entries[existing];
            if (e.Kind == ValueKind.String && needed <= e.Capacity && e.Capacity <= 2 * needed + 64)
            {
                value.CopyTo(new Span<byte>(e.Block + e.KeyLength, value.Length));
                e.ValueLength = value.Length;
                return existing;
            }
            long grow = Align(needed) - e.Capacity;
            if (cap > 0 && grow > 0 && MemoryUsed + grow > cap)
                return -1;
            ReleaseValue(ref e);
            e.Block = (byte*)NativeMemory.Realloc(e.Block, (nuint)Align(needed));
            e.Capacity = Align(needed);
            MemoryUsed += e.Capacity;
            e.Kind = ValueKind.String;
            e.ValueLength = value.Length;
            value.CopyTo(new Span<byte>(e.Block + e.KeyLength, value.Length));
            return existing;
        }
        if (cap > 0 && MemoryUsed + Align(needed) + EntryOverhead > cap)
            return -1;
        int index = Insert(key, hash, needed);
        ref var n = ref _entries[index];
        n.ValueLength = value.Length;
        value.CopyTo(new Span<byte>(n.Block + n.KeyLength, value.Length));
        return index;
    }

    /// <summary>Creates an empty list under a key that does not exist; -1 over the cap.</summary>
    public int AddList(ReadOnlySpan<byte> key, int hash, long cap)
    {
        if (cap > 0 && MemoryUsed + Align(key.Length) + EntryOverhead > cap)
            return -1;
        int index = Insert(key, hash, key.Length);
        ref var e = ref _entries[index];
        e.Kind = ValueKind.List;
        e.List = [];
        return index;
    }

    /// <summary>Charges list elements against the cap (they live on the managed heap).</summary>
    public void ChargeList(long bytes) => MemoryUsed += bytes;

    private int Insert(ReadOnlySpan<byte> key, int hash, int blockBytes)
    {
        if (_count >= _buckets.Length)
            Grow();
        int index;
        if (_freeList >= 0)
        {
            index = _freeList;
            _freeList = _entries[index].Next;
        }
        else
        {
            if (_used == _entries.Length)
                Array.Resize(ref _entries, _entries.Length * 2);
            index = _used++;
        }
        int bucket = hash & (_buckets.Length - 1);
        int capacity = Align(Math.Max(1, blockBytes));
        ref var e = ref _entries[index];
        e = new Entry
        {
            HashCode = hash, Next = _buckets[bucket], KeyLength = key.Length, Capacity = capacity,
            Block = (byte*)NativeMemory.Alloc((nuint)capacity),
        };
        key.CopyTo(new Span<byte>(e.Block, key.Length));
        _buckets[bucket] = index;
        _count++;
        MemoryUsed += capacity + EntryOverhead;
        return index;
    }

    /// <summary>Removes a key; false if it was not there.</summary>
    public bool Remove(ReadOnlySpan<byte> key, int hash)
    {
        int bucket = hash & (_buckets.Length - 1);
        int previous = -1;
        int index = _buckets[bucket];
        while (index >= 0)
        {
            ref var e = ref _entries[index];
            if (e.HashCode == hash && key.SequenceEqual(e.Key))
            {
                if (previous < 0)
                    _buckets[bucket] = e.Next;
                else
                    _entries[previous].Next = e.Next;
                Free(ref e);
                e.Next = _freeList;
                _freeList = index;
                _count--;
                return true;
            }
            previous = index;
            index = e.Next;
        }
        return false;
    }

    private void ReleaseValue(ref Entry e)
    {
        if (e.List is { } list)
        {
            long bytes = 0;
            foreach (var item in list)
                bytes += item.Length + 16;
            MemoryUsed -= bytes;
            e.List = null;
        }
        MemoryUsed -= e.Capacity;
        e.Capacity = 0;
    }

    private void Free(ref Entry e)
    {
        ReleaseValue(ref e);
        MemoryUsed -= EntryOverhead;
        NativeMemory.Free(e.Block);
        e = default;
    }

    /// <summary>Removes every key.</summary>
    public void Clear()
    {
        for (int i = 0; i < _used; i++)
        {
            if (_entries[i].Block != null)
                Free(ref _entries[i]);
        }
        Array.Fill(_buckets, -1);
        _freeList = -1;
        _used = 0;
        _count = 0;
        Debug.Assert(MemoryUsed == 0);
        MemoryUsed = 0;
    }

    /// <summary>Reaps expired keys among the next <paramref name="budget"/> slots (active expiry, a bounded step per tick).</summary>
    public int SweepExpired(int budget, long now)
    {
        int reaped = 0;
        for (int n = 0; n < budget && _used > 0; n++)
        {
            int i = (int)(_sweepCursor++ % _used);
            ref var e = ref _entries[i];
            if (e.Block != null && e.ExpiresAt != 0 && e.ExpiresAt <= now)
            {
                // Remove compares against the block it frees: it only reads the key before freeing.
                Remove(e.Key, e.HashCode);
                reaped++;
            }
        }
        return reaped;
    }

    private void Grow()
    {
        int size = _buckets.Length * 2;
        var buckets = new int[size];
        Array.Fill(buckets, -1);
        for (int i = 0; i < _used; i++)
        {
            ref var e = ref _entries[i];
            if (e.Block == null)
                continue;
            int bucket = e.HashCode & (size - 1);
            e.Next = buckets[bucket];
            buckets[bucket] = i;
        }
        _buckets = buckets;
    }

    private static int Align(int bytes) => (bytes + BlockAlignment - 1) & ~(BlockAlignment - 1);

    public void Dispose() => Clear();
}
