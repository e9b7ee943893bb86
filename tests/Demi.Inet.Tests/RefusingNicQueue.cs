using Demi.Buffers;
using Demi.Inet.Nic;

namespace Demi.Inet.Tests;

/// <summary>A NIC queue in front of another that takes at most <see cref="Budget"/> frames in all (a full transmit ring).</summary>
internal sealed class RefusingNicQueue(INicQueue inner) : INicQueue
{
    /// <summary>Frames still accepted; later ones are refused (left to the caller, as a full ring does).</summary>
    public int Budget { get; set; }

    public MacAddress MacAddress => inner.MacAddress;
    public int Mtu => inner.Mtu;
    public NicOffloads Offloads => inner.Offloads;
    public BufferPool Pool => inner.Pool;
    public int WaitFd => inner.WaitFd;

    public int Receive(Span<PacketBuffer> frames) => inner.Receive(frames);

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        int take = Math.Min(Budget, frames.Length);
        Budget -= take;
        return take == 0 ? 0 : inner.Transmit(frames[..take]);
    }

    public void Flush() => inner.Flush();

    public void Dispose() => inner.Dispose();
}
