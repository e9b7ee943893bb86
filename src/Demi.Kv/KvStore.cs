using System.Buffers.Text;
using Demi.Kv.Resp;
using Demi.Kv.Storage;

namespace Demi.Kv;

/// <summary>
/// The keys one shard owns and the operations on them. Runs on its shard's thread only; the
/// connection side has already checked arity and syntax, so what is left here is what depends on
/// the stored data (types, existence, integers, memory).
/// </summary>
internal sealed unsafe class KvStore : IDisposable
{
    private const int MaxIntegerLength = 20;

    private readonly KeyTable _table = new();
    private readonly long _cap;

    public KvStore(long memoryCap) => _cap = memoryCap;

    public int Count => _table.Count;

    public long MemoryUsed => _table.MemoryUsed;

    /// <summary>Reaps some expired keys (called once per tick).</summary>
    public int Sweep(long now) => _table.SweepExpired(4096, now);

    /// <summary>
    /// Runs <paramref name="call"/>; replies go to <paramref name="w"/> unless the call is silent.
    /// <paramref name="now"/> (<see cref="Environment.TickCount64"/>) is read by the caller: once per
    /// batch for the keys a connection's own shard owns, as Redis caches its clock per event-loop pass
    /// (a clock read per key was 1/6 of the shard's clock_gettime samples under redis-benchmark), and
    /// once per forwarded call for keys owned by another shard.
    /// </summary>
    public void Execute(KeyCall call, ReplyWriter w, long now)
    {
        call.Integer = 0;
        switch (call.Op)
        {
            case KeyOp.Get:
            case KeyOp.MGetElement:
                Get(call, w, now);
                break;
            case KeyOp.Set:
                Set(call, w, now);
                break;
            case KeyOp.IncrBy:
                IncrBy(call, w, now);
                break;
            case KeyOp.Expire:
                Expire(call, w, now);
                break;
            case KeyOp.Ttl:
                Ttl(call, w, now);
                break;
            case KeyOp.Del:
                call.Integer = _table.Find(call.KeySpan, call.Hash, now) >= 0 && _table.Remove(call.KeySpan, call.Hash) ? 1 : 0;
                break;
            case KeyOp.Exists:
                call.Integer = _table.Find(call.KeySpan, call.Hash, now) >= 0 ? 1 : 0;
                break;
            case KeyOp.Type:
                int t = _table.Find(call.KeySpan, call.Hash, now);
                w.SimpleString(t < 0 ? "none"u8 : _table[t].Kind == ValueKind.List ? "list"u8 : "string"u8);
                break;
            case KeyOp.Push:
                Push(call, w, now);
                break;
            case KeyOp.LLen:
                int l = _table.Find(call.KeySpan, call.Hash, now);
                if (l >= 0 && _table[l].Kind != ValueKind.List)
                    w.Error(Errors.WrongType);
                else
                    w.Integer(l < 0 ? 0 : _table[l].List!.Count);
                break;
            case KeyOp.LRange:
                LRange(call, w, now);
                break;
            case KeyOp.Pop:
                Pop(call, w, now);
                break;
            case KeyOp.DbSize:
                call.Integer = _table.Count;
                break;
            case KeyOp.FlushAll:
                _table.Clear();
                break;
        }
    }

    private void Get(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i < 0)
        {
            w.NullBulk();
            return;
        }
        ref var e = ref _table[i];
        if (e.Kind != ValueKind.String)
        {
            if (call.Op == KeyOp.MGetElement)
                w.NullBulk();
            else
                w.Error(Errors.WrongType);
            return;
        }
        w.Bulk(e.Value);
    }

    private void Set(KeyCall call, ReplyWriter w, long now)
    {
        bool silent = (call.Flags & KeyFlags.Silent) != 0;
        int i = _table.Find(call.KeySpan, call.Hash, now);
        bool withGet = (call.Flags & KeyFlags.Get) != 0;
        if (withGet && i >= 0 && _table[i].Kind != ValueKind.String)
        {
            w.Error(Errors.WrongType);
            return;
        }
        bool blocked = ((call.Flags & KeyFlags.Nx) != 0 && i >= 0) || ((call.Flags & KeyFlags.Xx) != 0 && i < 0);
        if (blocked)
        {
            if (withGet && i >= 0)
                w.Bulk(_table[i].Value);
            else if (!silent)
                w.NullBulk();
            return;
        }
        if (WouldExceedCap(i, call.KeyLength + call.ValueLength))
        {
            call.Integer = -1;
            if (!silent)
                w.Error(Errors.OutOfMemory);
            return;
        }
        if (withGet)
        {
            if (i >= 0)
                w.Bulk(_table[i].Value);
            else
                w.NullBulk();
        }
        long keep = i >= 0 ? _table[i].ExpiresAt : 0;
        int index = _table.SetString(call.KeySpan, call.Hash, call.ValueSpan, i, 0);
        _table[index].ExpiresAt = call.Arg != 0 ? call.Arg : (call.Flags & KeyFlags.KeepTtl) != 0 ? keep : 0;
        call.Integer = 1;
        if (!silent && !withGet)
            w.SimpleString("OK"u8);
    }

    private bool WouldExceedCap(int existing, int bytes)
    {
        if (_cap <= 0)
            return false;
        long needed = (bytes + 15) & ~15L;
        long grow = existing >= 0 ? needed - _table[existing].Capacity : needed + KeyTable.EntryOverhead;
        return grow > 0 && _table.MemoryUsed + grow > _cap;
    }

    private void IncrBy(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        long value = 0;
        if (i >= 0)
        {
            ref var e = ref _table[i];
            if (e.Kind != ValueKind.String)
            {
                w.Error(Errors.WrongType);
                return;
            }
            if (!TryParseInteger(e.Value, out value))
            {
                w.Error(Errors.NotInteger);
                return;
            }
        }
        long delta = call.Arg;
        if ((delta < 0 && value < 0 && delta < long.MinValue - value) || (delta > 0 && value > 0 && delta > long.MaxValue - value))
        {
            w.Error(Errors.Overflow);
            return;
        }
        value += delta;
        Span<byte> digits = stackalloc byte[MaxIntegerLength + 1];
        Utf8Formatter.TryFormat(value, digits, out int n);
        if (WouldExceedCap(i, call.KeyLength + n))
        {
            w.Error(Errors.OutOfMemory);
            return;
        }
        long keep = i >= 0 ? _table[i].ExpiresAt : 0;
        int index = _table.SetString(call.KeySpan, call.Hash, digits[..n], i, 0);
        _table[index].ExpiresAt = keep;
        w.Integer(value);
    }

    /// <summary>Redis's string2ll: an optional '-', digits, no leading zeros or spaces, within 64 bits.</summary>
    public static bool TryParseInteger(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > MaxIntegerLength)
            return false;
        if (text.Length == 1 && text[0] == (byte)'0')
            return true;
        bool negative = text[0] == (byte)'-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] < (byte)'1' || digits[0] > (byte)'9')
            return false;
        ulong v = 0;
        foreach (byte b in digits)
        {
            if (b < (byte)'0' || b > (byte)'9')
                return false;
            ulong next = v * 10 + (ulong)(b - '0');
            if (v > ulong.MaxValue / 10 || next < v)
                return false;
            v = next;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1)
                return false;
            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue)
                return false;
            value = (long)v;
        }
        return true;
    }

    private void Expire(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i < 0)
        {
            w.Integer(0);
            return;
        }
        ref var e = ref _table[i];
        long deadline = call.Arg;
        var f = call.Flags;
        // EXPIRE's NX/XX/GT/LT (Redis 7.0): a key without a TTL counts as an infinite TTL for GT/LT.
        if (((f & KeyFlags.Nx) != 0 && e.ExpiresAt != 0) || ((f & KeyFlags.Xx) != 0 && e.ExpiresAt == 0)
            || ((f & KeyFlags.Gt) != 0 && (e.ExpiresAt == 0 || deadline <= e.ExpiresAt))
            || ((f & KeyFlags.Lt) != 0 && e.ExpiresAt != 0 && deadline >= e.ExpiresAt))
        {
            w.Integer(0);
            return;
        }
        if (deadline <= now)
            _table.Remove(call.KeySpan, call.Hash); // a deadline in the past deletes the key, as Redis does
        else
            e.ExpiresAt = deadline;
        w.Integer(1);
    }

    private void Ttl(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i < 0)
        {
            w.Integer(-2);
            return;
        }
        long at = _table[i].ExpiresAt;
        if (at == 0)
        {
            w.Integer(-1);
            return;
        }
        long ms = at - now;
        w.Integer((call.Flags & KeyFlags.Milliseconds) != 0 ? ms : (ms + 500) / 1000);
    }

    private void Push(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i >= 0 && _table[i].Kind != ValueKind.List)
        {
            w.Error(Errors.WrongType);
            return;
        }
        var request = call.Request!;
        long bytes = 0;
        for (int a = call.FirstValue; a < request.Count; a++)
            bytes += request.Length(a) + 16;
        if (_cap > 0 && _table.MemoryUsed + bytes + (i < 0 ? KeyTable.EntryOverhead + call.KeyLength : 0) > _cap)
        {
            w.Error(Errors.OutOfMemory);
            return;
        }
        if (i < 0)
            i = _table.AddList(call.KeySpan, call.Hash, 0);
        var list = _table[i].List!;
        bool left = (call.Flags & KeyFlags.Left) != 0;
        for (int a = call.FirstValue; a < request.Count; a++)
        {
            var item = request[a].ToArray();
            if (left)
                list.Insert(0, item);
            else
                list.Add(item);
        }
        _table.ChargeList(bytes);
        w.Integer(list.Count);
    }

    private void Pop(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i < 0)
        {
            w.NullBulk();
            return;
        }
        if (_table[i].Kind != ValueKind.List)
        {
            w.Error(Errors.WrongType);
            return;
        }
        var list = _table[i].List!;
        int at = (call.Flags & KeyFlags.Left) != 0 ? 0 : list.Count - 1;
        var item = list[at];
        list.RemoveAt(at);
        _table.ChargeList(-(item.Length + 16));
        w.Bulk(item);
        if (list.Count == 0)
            _table.Remove(call.KeySpan, call.Hash); // Redis deletes emptied lists
    }

    private void LRange(KeyCall call, ReplyWriter w, long now)
    {
        int i = _table.Find(call.KeySpan, call.Hash, now);
        if (i < 0)
        {
            w.ArrayHeader(0);
            return;
        }
        if (_table[i].Kind != ValueKind.List)
        {
            w.Error(Errors.WrongType);
            return;
        }
        var list = _table[i].List!;
        long start = call.Arg, stop = call.Arg2, n = list.Count;
        if (start < 0)
            start = Math.Max(0, n + start);
        if (stop < 0)
            stop = n + stop;
        if (stop >= n)
            stop = n - 1;
        if (start > stop || start >= n)
        {
            w.ArrayHeader(0);
            return;
        }
        w.ArrayHeader(stop - start + 1);
        for (long k = start; k <= stop; k++)
            w.Bulk(list[(int)k]);
    }

    public void Dispose() => _table.Dispose();
}
