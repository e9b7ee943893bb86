using System.Diagnostics.Metrics;
using System.Numerics;
using System.Runtime.CompilerServices;
using Demi.Inet.Internal;
using Demi.Inet.Nic;
using Demi.Runtime;

namespace Demi.Inet;

/// <summary>
/// Software flow steering across the shards of one libOS, for any transport (AF_XDP, DPDK, ...): a
/// NIC that cannot steer flows to the shard owning them (veth picks the receiving queue by the
/// sender's transmit queue) delivers frames to any queue, and the receiving shard moves each frame
/// (no copy) through a single-producer single-consumer ring to the shard that owns its flow.
/// <see cref="InetBackend"/> sets it up when it runs more than one NIC queue; a transport only
/// provides the queues.
/// </summary>
/// <remarks>
/// <para>Who owns a frame is read from the libOS's <see cref="PortSpace"/> by the frame's local
/// (destination) port, with no per-flow table: a port with sockets bound on one shard belongs to
/// that shard; a port bound on several (a TCP listener accepts on every shard) is spread by a hash
/// of the remote address and port, the same for every frame of a flow, so a connection lives where
/// its SYN was steered; a UDP port bound by a SO_REUSEPORT group is served by the member on the
/// receiving shard, else spread by the same hash; an unbound port is an ephemeral port of an active open, which names its
/// shard (<c>port % shards</c>). ICMP, ARP requests, fragments and malformed frames stay where they
/// land (the stack there drops and counts the malformed ones); ARP replies are copied to every
/// shard, since any of them may be waiting for the address.</para>
/// <para>Wake-up: after a burst, the receiving shard issues one full fence and wakes each target
/// shard through <see cref="Shard.Wake"/>, which makes a syscall only when the target is parked; a
/// shard about to park checks its rings after announcing it parks (<see cref="InetBackend"/>'s
/// driver reports pending steered frames as due work), so no frame waits for a sleeping shard and no
/// syscall is made while the target is awake.</para>
/// <para>Counters are exposed here and as instruments of the <c>Demi.Inet</c> meter.</para>
/// </remarks>
public sealed class FlowSteering : IDisposable
{
    /// <summary>Most shards one steering domain serves.</summary>
    public const int MaxShards = PortSpace.MaxShards;

    private readonly FrameRing[] _rings; // [from * n + to]
    private readonly SteeringNicQueue?[] _queues;
    private readonly Shard?[] _shards;
    private readonly Meter _meter;

    /// <summary>Creates steering over <paramref name="ports"/>'s shards with rings of <paramref name="ringCapacity"/> frames (a power of two).</summary>
    public FlowSteering(PortSpace ports, int ringCapacity = 1024)
    {
        ArgumentNullException.ThrowIfNull(ports);
        Ports = ports;
        int n = ports.ShardCount;
        ShardCount = n;
        _rings = new FrameRing[n * n];
        for (int i = 0; i < _rings.Length; i++)
            _rings[i] = new FrameRing(ringCapacity);
        _queues = new SteeringNicQueue?[n];
        _shards = new Shard?[n];
        _meter = new Meter("Demi.Inet");
        _meter.CreateObservableCounter("demi.inet.steering.forwarded", () => ForwardedFrames, "{frame}",
            "Frames received on one shard's queue and moved to the shard owning their flow");
        _meter.CreateObservableCounter("demi.inet.steering.dropped", () => DroppedFrames, "{frame}",
            "Frames dropped because the owning shard's steering ring was full");
        _meter.CreateObservableCounter("demi.inet.steering.arp_copies", () => ArpCopies, "{frame}",
            "ARP replies copied to the other shards");
        _meter.CreateObservableCounter("demi.inet.steering.wakeups", () => Wakeups, "{wakeup}",
            "Steered bursts whose target shard was parked and had to be woken");
    }

    /// <summary>The port space ownership is read from.</summary>
    public PortSpace Ports { get; }

    /// <summary>Number of shards (and NIC queues).</summary>
    public int ShardCount { get; }

    /// <summary>Frames moved from the shard that received them to the shard owning their flow.</summary>
    public long ForwardedFrames => Sum(static q => q.Forwarded);

    /// <summary>Frames dropped because the ring towards the owner was full (the owner is not keeping up).</summary>
    public long DroppedFrames => Sum(static q => q.RingFullDrops);

    /// <summary>ARP replies copied to other shards.</summary>
    public long ArpCopies => Sum(static q => q.ArpCopies);

    /// <summary>ARP reply copies not made because the pool had no free frame.</summary>
    public long ArpCopyFailures => Sum(static q => q.ArpCopyFailures);

    /// <summary>Steered bursts that found their target shard parked (each cost one eventfd write).</summary>
    public long Wakeups => Sum(static q => q.Wakeups);

    /// <summary>Frames shard <paramref name="shard"/> forwarded to others.</summary>
    public long ForwardedBy(int shard) => _queues[shard]?.Forwarded ?? 0;

    /// <summary>Frames shard <paramref name="shard"/> received from others.</summary>
    public long ReceivedBy(int shard) => _queues[shard]?.ReceivedFromOthers ?? 0;

    /// <summary>
    /// The shard a frame from <paramref name="remoteAddress"/>:<paramref name="remotePort"/> to local
    /// <paramref name="localPort"/> belongs to (<paramref name="protocol"/> 6 TCP or 17 UDP), received on
    /// shard <paramref name="receivedOn"/> (-1: not said; it matters only to a UDP SO_REUSEPORT group,
    /// whose member on the receiving shard takes the datagram).
    /// </summary>
    public int OwnerOf(byte protocol, ushort localPort, Ipv4Address remoteAddress, ushort remotePort, int receivedOn = -1)
    {
        var table = Ports.OwnerTable(protocol);
        ulong owners = table is null ? 0 : Volatile.Read(ref table[localPort]);
        return Owner(protocol, owners, localPort, FlowHash(remoteAddress.Value, remotePort), receivedOn);
    }

    /// <summary>The owner of a frame to a port whose owner mask is <paramref name="owners"/>, received on shard <paramref name="receivedOn"/> (or -1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Owner(byte protocol, ulong owners, ushort localPort, uint flowHash, int receivedOn)
    {
        // A UDP port with several owners is a SO_REUSEPORT group: a member on the receiving shard takes
        // the datagram, so a group with a socket on every shard is served without steering (datagrams
        // carry no connection state). A TCP listener's flows must hash the same wherever they land.
        if (protocol == PortSpace.ProtocolUdp && receivedOn >= 0 && (owners & (1UL << receivedOn)) != 0)
            return receivedOn;
        return Pick(owners, localPort, flowHash);
    }

    /// <summary>
    /// Wraps shard <paramref name="shard"/>'s NIC queue: the returned queue is the one its stack must
    /// use. Call once per shard before the shards start.
    /// </summary>
    public INicQueue Attach(int shard, INicQueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, ShardCount);
        if (_queues[shard] is not null)
            throw new InvalidOperationException($"Shard {shard} already has a steered queue.");
        var steered = new SteeringNicQueue(this, shard, queue);
        _queues[shard] = steered;
        return steered;
    }

    /// <summary>Tells steering which runtime shard drains queue <paramref name="index"/> (to wake it when frames are steered to it).</summary>
    public void AttachShard(int index, Shard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        Volatile.Write(ref _shards[index], shard);
    }

    /// <summary>Whether frames steered to <paramref name="shard"/> wait in its rings (the shard must not sleep).</summary>
    public bool HasPending(int shard) => _queues[shard]?.HasPending ?? false;

    /// <summary>The owner among <paramref name="owners"/> (a port's mask; 0 means the port names its shard).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Pick(ulong owners, ushort localPort, uint flowHash)
    {
        if (owners == 0)
            return localPort % ShardCount;
        if ((owners & (owners - 1)) == 0)
            return BitOperations.TrailingZeroCount(owners);
        // Several shards (a listener on every shard): the flow's hash picks one, the same for every
        // frame of the flow wherever it lands.
        int skip = (int)(flowHash % (uint)BitOperations.PopCount(owners));
        for (int i = 0; i < skip; i++)
            owners &= owners - 1;
        return BitOperations.TrailingZeroCount(owners);
    }

    /// <summary>A hash of the remote end of a flow (the local end is fixed per port): Fibonacci hashing, then mixed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint FlowHash(uint remoteAddress, ushort remotePort)
    {
        uint h = (remoteAddress ^ ((uint)remotePort << 16 | remotePort)) * 0x9E3779B1u;
        return h ^ (h >> 15);
    }

    internal FrameRing Ring(int from, int to) => _rings[from * ShardCount + to];

    internal Shard? ShardOf(int index) => Volatile.Read(ref _shards[index]);

    private long Sum(Func<SteeringNicQueue, long> counter)
    {
        long total = 0;
        foreach (var q in _queues)
            if (q is not null)
                total += counter(q);
        return total;
    }

    /// <summary>Disposes the meter. (The queues are disposed by their owner.)</summary>
    public void Dispose() => _meter.Dispose();
}
