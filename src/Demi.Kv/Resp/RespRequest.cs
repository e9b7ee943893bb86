using System.Diagnostics;

namespace Demi.Kv.Resp;

/// <summary>
/// One parsed command: its arguments as (offset, length) pairs into the bytes it was parsed from,
/// which stay where they are (in the popped sga or the carry buffer) until the command has run.
/// The argument array grows to the largest command seen and is reused.
/// </summary>
internal sealed unsafe class RespRequest
{
    private (int Offset, int Length)[] _args = new (int, int)[8];

    /// <summary>Start of the frame the offsets are relative to.</summary>
    public byte* Base { get; set; }

    public int Count { get; private set; }

    public void Reset(byte* frame)
    {
        Base = frame;
        Count = 0;
    }

    public void Add(int offset, int length)
    {
        if (Count == _args.Length)
            Array.Resize(ref _args, _args.Length * 2);
        _args[Count++] = (offset, length);
    }

    /// <summary>Moves the frame (the carry buffer moved): offsets stay valid.</summary>
    public void Rebase(byte* frame) => Base = frame;

    public ReadOnlySpan<byte> this[int index]
    {
        get
        {
            Debug.Assert((uint)index < (uint)Count);
            var (offset, length) = _args[index];
            return new ReadOnlySpan<byte>(Base + offset, length);
        }
    }

    public byte* Pointer(int index) => Base + _args[index].Offset;

    public int Length(int index) => _args[index].Length;
}
