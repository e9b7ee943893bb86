using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;

namespace Demi.Micro;

/// <summary>
/// A NIC queue with no wire behind it, to time the stack alone: every receive returns a full burst
/// of copies of one frame (the copy stands in for the device's DMA), every transmit completes at once.
/// </summary>
public sealed class ReplayNicQueue : INicQueue
{
    private readonly byte[] _frame;

    public ReplayNicQueue(MacAddress mac, byte[] frame)
    {
        MacAddress = mac;
        _frame = frame;
        Pool = new BufferPool(2048, 4096, 128);
    }

    public MacAddress MacAddress { get; }

    public int Mtu => 1500;

    public NicOffloads Offloads => NicOffloads.None;

    public BufferPool Pool { get; }

    public int WaitFd => -1;

    /// <summary>When false, receives return nothing (the send-only path).</summary>
    public bool Replaying { get; set; } = true;

    public long Transmitted { get; private set; }

    public int Receive(Span<PacketBuffer> frames)
    {
        if (!Replaying)
            return 0;
        int n = 0;
        for (; n < frames.Length; n++)
        {
            if (!PacketBuffer.TryRent(Pool, out var buffer))
                break;
            _frame.CopyTo(buffer.Append(_frame.Length));
            frames[n] = buffer;
        }
        return n;
    }

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        foreach (var frame in frames)
            frame.Release();
        Transmitted += frames.Length;
        return frames.Length;
    }

    public void Flush()
    {
    }

    public void Dispose() => Pool.Dispose();
}
