using System.Diagnostics.Metrics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Demi.Inet.Nic;
using Demi.Runtime;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// Software steering across the shards of one multi-queue <see cref="XdpBackend"/>. A NIC that cannot
/// steer flows to the shard that owns them (veth picks the receiving queue by the sender's transmit
/// queue) delivers frames to any queue; the receiving shard looks up the owner of the frame's local
/// UDP/TCP port and, when it is another shard, moves the frame (no copy) into a single-producer
/// single-consumer ring towards that shard and signals it. A port's owner is the shard whose stack
/// has the socket (TCP connections live on their listener's shard, so the port names the flow's
/// shard): learned from the frames each shard transmits from that port (clients, and servers once
/// they reply), or claimed when a socket binds (<see cref="XdpBackend"/> does it for every bind, so
/// servers get their first datagram or SYN before they have sent anything; <see cref="Claim(LibOS, int)"/>
/// does it by hand). Frames of unknown ports,
/// ICMP, ARP requests and fragments stay where they land; ARP replies are copied to every shard,
/// since any of them may be waiting for the address. Counters are exposed here and as
/// System.Diagnostics.Metrics instruments of the <c>Demi.Transport.Xdp</c> meter.
/// </summary>
public sealed class FlowSteering : IDisposable
{
    /// <summary>Most shards one steering domain serves (owner sets are 64-bit masks).</summary>
    public const int MaxShards = 64;

    internal const byte ProtocolTcp = 6;
    internal const byte ProtocolUdp = 17;

    // Owner masks per port: claims (explicit) win over learned owners (last transmitter).
    private readonly ulong[] _udpClaimed = new ulong[65536];
    private readonly ulong[] _tcpClaimed = new ulong[65536];
    private readonly ulong[] _udpLearned = new ulong[65536];
    private readonly ulong[] _tcpLearned = new ulong[65536];
    private readonly FrameRing[] _rings; // [from * n + to]
    private readonly SteeringNicQueue?[] _queues;
    private readonly Meter _meter;

    internal FlowSteering(int shardCount, int ringCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardCount, MaxShards);
        ShardCount = shardCount;
        _rings = new FrameRing[shardCount * shardCount];
        for (int i = 0; i < _rings.Length; i++)
            _rings[i] = new FrameRing(ringCapacity);
        _queues = new SteeringNicQueue?[shardCount];
        _meter = new Meter("Demi.Transport.Xdp");
        _meter.CreateObservableCounter("demi.xdp.steering.forwarded", () => ForwardedFrames, "{frame}",
            "Frames received on one shard's queue and moved to the shard owning their flow");
        _meter.CreateObservableCounter("demi.xdp.steering.dropped", () => DroppedFrames, "{frame}",
            "Frames dropped because the owning shard's steering ring was full");
        _meter.CreateObservableCounter("demi.xdp.steering.arp_copies", () => ArpCopies, "{frame}",
            "ARP replies copied to the other shards");
    }

    /// <summary>Number of shards (and NIC queues).</summary>
    public int ShardCount { get; }

    /// <summary>Frames moved from the shard that received them to the shard owning their port.</summary>
    public long ForwardedFrames => Sum(static q => q.Forwarded);

    /// <summary>Frames dropped because the ring towards the owner was full (the owner is not keeping up).</summary>
    public long DroppedFrames => Sum(static q => q.RingFullDrops);

    /// <summary>ARP replies copied to other shards (and copies that failed for want of a free frame, in <see cref="ArpCopyFailures"/>).</summary>
    public long ArpCopies => Sum(static q => q.ArpCopies);

    /// <summary>ARP reply copies not made because the pool had no free frame.</summary>
    public long ArpCopyFailures => Sum(static q => q.ArpCopyFailures);

    /// <summary>Frames shard <paramref name="shard"/> forwarded to others.</summary>
    public long ForwardedBy(int shard) => _queues[shard]?.Forwarded ?? 0;

    /// <summary>Frames shard <paramref name="shard"/> received from others.</summary>
    public long ReceivedBy(int shard) => _queues[shard]?.ReceivedFromOthers ?? 0;

    /// <summary>
    /// Declares that <paramref name="shard"/> has a socket on local <paramref name="port"/> for
    /// <paramref name="protocol"/> (6 TCP, 17 UDP): frames to that port go to it (or stay on
    /// whichever claimant received them). Thread-safe.
    /// </summary>
    public void Claim(byte protocol, ushort port, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, ShardCount);
        var table = Claimed(protocol);
        ulong bit = 1UL << shard;
        ulong seen;
        do
            seen = Volatile.Read(ref table[port]);
        while (Interlocked.CompareExchange(ref table[port], seen | bit, seen) != seen);
    }

    /// <summary>Withdraws a <see cref="Claim(byte, ushort, int)"/>. Thread-safe.</summary>
    public void Unclaim(byte protocol, ushort port, int shard)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, ShardCount);
        var table = Claimed(protocol);
        ulong bit = 1UL << shard;
        ulong seen;
        do
            seen = Volatile.Read(ref table[port]);
        while (Interlocked.CompareExchange(ref table[port], seen & ~bit, seen) != seen);
    }

    /// <summary>
    /// Claims the bound local port of socket <paramref name="qd"/> of <paramref name="libOS"/> for
    /// the shard it lives on. <see cref="XdpBackend"/> already claims every bound port; this is for
    /// steering set up by hand. Returns 0, or EBADF / EINVAL when <paramref name="qd"/> is not a
    /// bound socket.
    /// </summary>
    public int Claim(LibOS libOS, int qd)
    {
        ArgumentNullException.ThrowIfNull(libOS);
        if (libOS.GetActor(qd) is not SocketActor socket)
            return Errno.EBADF;
        int rc = libOS.GetSockName(qd, out var local);
        if (rc != 0)
            return rc;
        if (local.Port == 0)
            return Errno.EINVAL;
        byte protocol = socket.SocketType == SocketConstants.SOCK_STREAM ? ProtocolTcp : ProtocolUdp;
        Claim(protocol, local.Port, socket.Shard.Id);
        return 0;
    }

    /// <summary>The shards that claimed local <paramref name="port"/> (learned owners not included), as a bit mask.</summary>
    public ulong ClaimsOf(byte protocol, ushort port) => Volatile.Read(ref Claimed(protocol)[port]);

    /// <summary>The shards a frame to local <paramref name="port"/> would be steered to (claimed, else learned), as a bit mask.</summary>
    public ulong OwnersOf(byte protocol, ushort port) => Owners(protocol, port);

    private ulong[] Claimed(byte protocol) => protocol switch
    {
        ProtocolTcp => _tcpClaimed,
        ProtocolUdp => _udpClaimed,
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), "TCP (6) or UDP (17)."),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal ulong Owners(byte protocol, ushort port)
    {
        ulong claimed, learned;
        if (protocol == ProtocolUdp)
        {
            claimed = Volatile.Read(ref _udpClaimed[port]);
            learned = Volatile.Read(ref _udpLearned[port]);
        }
        else
        {
            claimed = Volatile.Read(ref _tcpClaimed[port]);
            learned = Volatile.Read(ref _tcpLearned[port]);
        }
        return claimed != 0 ? claimed : learned;
    }

    /// <summary>Records that <paramref name="shard"/> transmitted from local <paramref name="port"/> (the last transmitter owns it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void Learn(byte protocol, ushort port, int shard)
    {
        ref ulong slot = ref protocol == ProtocolUdp ? ref _udpLearned[port] : ref _tcpLearned[port];
        ulong bit = 1UL << shard;
        // Read first: the common case (already ours) must not dirty a line other shards read.
        if (Volatile.Read(ref slot) != bit)
            Volatile.Write(ref slot, bit);
    }

    /// <summary>Picks the owner to forward to among <paramref name="owners"/> (not containing the receiver).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int PickOwner(ulong owners, uint flowHash)
    {
        int count = BitOperations.PopCount(owners);
        if (count == 1)
            return BitOperations.TrailingZeroCount(owners);
        // Several claimants (a port bound on several shards): spread flows by hash, stable per flow.
        int skip = (int)(flowHash % (uint)count);
        for (int i = 0; i < skip; i++)
            owners &= owners - 1;
        return BitOperations.TrailingZeroCount(owners);
    }

    internal FrameRing Ring(int from, int to) => _rings[from * ShardCount + to];

    internal SteeringNicQueue? Queue(int shard) => _queues[shard];

    internal SteeringNicQueue Attach(int shard, INicQueue inner)
    {
        var queue = new SteeringNicQueue(this, shard, inner);
        _queues[shard] = queue;
        return queue;
    }

    private long Sum(Func<SteeringNicQueue, long> counter)
    {
        long total = 0;
        foreach (var q in _queues)
            if (q is not null)
                total += counter(q);
        return total;
    }

    /// <summary>Disposes the meter. (The queues are disposed by the backend.)</summary>
    public void Dispose() => _meter.Dispose();
}
