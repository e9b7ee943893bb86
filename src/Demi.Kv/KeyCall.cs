using System.Runtime.InteropServices;
using Demi.Kv.Resp;

namespace Demi.Kv;

/// <summary>An operation on the keys of one shard.</summary>
internal enum KeyOp : byte
{
    Get,
    /// <summary>GET as one element of MGET: a key of another type reads as nil.</summary>
    MGetElement,
    Set,
    IncrBy,
    Expire,
    Ttl,
    Del,
    Exists,
    Type,
    Push,
    LLen,
    LRange,
    Pop,
    DbSize,
    FlushAll,
}

/// <summary>SET's and EXPIRE's options.</summary>
[Flags]
internal enum KeyFlags : ushort
{
    None = 0,
    Nx = 1,
    Xx = 2,
    Get = 4,
    KeepTtl = 8,
    Gt = 16,
    Lt = 32,
    Milliseconds = 64,
    /// <summary>LPUSH/LPOP rather than RPUSH/RPOP.</summary>
    Left = 128,
    /// <summary>No reply bytes: only <see cref="KeyCall.Integer"/> (a step of MSET, DEL, EXISTS, ...).</summary>
    Silent = 256,
}

/// <summary>
/// One key operation, reused for every operation of its connection. When the key belongs to another
/// shard the call object itself travels there and back in an inbox message (by GC handle): the
/// owning shard reads the arguments (in place in the requester's buffer, which stays put while the
/// connection waits) and writes the results, then hands it back. Only one shard touches it at a time.
/// </summary>
internal sealed unsafe class KeyCall : IDisposable
{
    public KeyCall(KvConnection connection)
    {
        Connection = connection;
        Handle = GCHandle.ToIntPtr(GCHandle.Alloc(this));
    }

    public KvConnection Connection { get; }

    /// <summary>GC handle of this object (what the inbox message carries).</summary>
    public nint Handle { get; private set; }

    public KeyOp Op;
    public KeyFlags Flags;
    public byte* Key;
    public int KeyLength;
    public int Hash;
    public byte* Value;
    public int ValueLength;
    /// <summary>Increment, expiry deadline (TickCount64 ms), or a range start.</summary>
    public long Arg;
    /// <summary>Range stop.</summary>
    public long Arg2;
    /// <summary>For PUSH: the request whose arguments from <see cref="FirstValue"/> on are the values.</summary>
    public RespRequest? Request;
    public int FirstValue;

    /// <summary>Result for aggregating commands (keys deleted, 1 = stored, -1 = out of memory, ...).</summary>
    public long Integer;

    /// <summary>Reply bytes written by a remote shard (from <see cref="ReplyStart"/>); default when none.</summary>
    public Sga Reply;
    public byte* ReplyStart;

    public ReadOnlySpan<byte> KeySpan => new(Key, KeyLength);

    public ReadOnlySpan<byte> ValueSpan => new(Value, ValueLength);

    public static KeyCall FromHandle(nint handle) => (KeyCall)GCHandle.FromIntPtr(handle).Target!;

    public void Dispose()
    {
        if (Handle != 0)
            GCHandle.FromIntPtr(Handle).Free();
        Handle = 0;
    }
}
