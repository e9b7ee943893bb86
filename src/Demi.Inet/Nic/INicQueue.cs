using Demi.Buffers;

namespace Demi.Inet.Nic;

/// <summary>Offloads a NIC queue provides.</summary>
[Flags]
public enum NicOffloads
{
    None = 0,
    /// <summary>Received frames' IPv4/UDP/TCP checksums were verified by the device.</summary>
    RxChecksum = 1,
    /// <summary>The device fills in outgoing IPv4/UDP/TCP checksums.</summary>
    TxChecksum = 2,
}

/// <summary>
/// One NIC receive/transmit queue pair: everything a transport (AF_XDP, DPDK, the virtual wire)
/// provides to the network stack. It is driven by exactly one shard thread; nothing above it knows
/// which driver is underneath. Frames live in <see cref="Pool"/>, whose buffers have headroom for
/// headers and a reference count.
/// </summary>
public interface INicQueue : IDisposable
{
    /// <summary>The queue's interface MAC address.</summary>
    MacAddress MacAddress { get; }

    /// <summary>Largest IPv4 packet (without the Ethernet header) the link carries.</summary>
    int Mtu { get; }

    NicOffloads Offloads { get; }

    /// <summary>The frames' memory. Frames to transmit must be buffers of this pool.</summary>
    BufferPool Pool { get; }

    /// <summary>
    /// Takes up to <c>frames.Length</c> received frames. Each returned frame carries one reference
    /// that now belongs to the caller (release it, or hand it on).
    /// </summary>
    int Receive(Span<PacketBuffer> frames);

    /// <summary>
    /// Queues frames for transmission. Returns how many were taken (a prefix of <paramref name="frames"/>);
    /// the queue takes over the caller's reference of each taken frame and releases it once sent.
    /// Frames not taken remain the caller's.
    /// </summary>
    int Transmit(ReadOnlySpan<PacketBuffer> frames);

    /// <summary>Kicks the device if it needs it and reclaims completed transmissions. Called once per shard loop.</summary>
    void Flush();

    /// <summary>A file descriptor that becomes readable when frames arrive (for parking an idle shard), or -1.</summary>
    int WaitFd { get; }

    /// <summary>
    /// Called on the thread that will poll the queue (its shard's), before the first poll: a device
    /// may set up per-thread state there (DPDK makes the thread an lcore, for its mempool cache).
    /// </summary>
    void AttachPollingThread()
    {
    }

    /// <summary>Called on the same thread after its last poll: undoes <see cref="AttachPollingThread"/>.</summary>
    void DetachPollingThread()
    {
    }
}
