using System.Buffers.Binary;
using Demi.Buffers;
using Demi.Inet.Headers;
using Demi.Inet.Nic;

namespace Demi.Inet.Internal;

/// <summary>
/// Shard <c>i</c>'s view of its NIC queue under <see cref="FlowSteering"/>: receiving takes the frames
/// other shards steered here, then the queue's own frames, keeping those this shard owns and moving
/// the rest into the owners' rings. Everything is per burst: no allocation, no lock, no syscall; one
/// full fence per burst that steered anything, and a wake-up (an eventfd write) only for a target
/// shard that is parked. <see cref="WaitFd"/> is the inner queue's: steered frames wake a parked
/// shard through the runtime's own wake-up.
/// </summary>
internal sealed class SteeringNicQueue : INicQueue
{
    private const int EtherTypeIpv4 = 0x0800;
    private const int EtherTypeArp = 0x0806;

    private readonly FlowSteering _steering;
    private readonly int _shard;
    private readonly INicQueue _inner;
    private readonly PacketBuffer[] _scratch = new PacketBuffer[256];
    private readonly bool[] _targets; // shards that got frames in the current burst
    private readonly ulong[]? _udpOwners;
    private readonly ulong[]? _tcpOwners;
    private int _disposed;

    public long Forwarded, RingFullDrops, ReceivedFromOthers, ArpCopies, ArpCopyFailures, Wakeups;

    public SteeringNicQueue(FlowSteering steering, int shard, INicQueue inner)
    {
        _steering = steering;
        _shard = shard;
        _inner = inner;
        _targets = new bool[steering.ShardCount];
        _udpOwners = steering.Ports.OwnerTable(PortSpace.ProtocolUdp);
        _tcpOwners = steering.Ports.OwnerTable(PortSpace.ProtocolTcp);
    }

    public INicQueue Inner => _inner;

    public MacAddress MacAddress => _inner.MacAddress;

    public int Mtu => _inner.Mtu;

    public NicOffloads Offloads => _inner.Offloads;

    public BufferPool Pool => _inner.Pool;

    public int WaitFd => _inner.WaitFd;

    /// <inheritdoc />
    public void AttachPollingThread() => _inner.AttachPollingThread();

    /// <inheritdoc />
    public void DetachPollingThread() => _inner.DetachPollingThread();

    /// <summary>Frames other shards steered here wait in the rings (read by this shard before it parks).</summary>
    public bool HasPending
    {
        get
        {
            for (int from = 0; from < _steering.ShardCount; from++)
                if (from != _shard && _steering.Ring(from, _shard).Count > 0)
                    return true;
            return false;
        }
    }

    public int Receive(Span<PacketBuffer> frames)
    {
        int count = 0;
        int n = _steering.ShardCount;
        for (int from = 0; from < n && count < frames.Length; from++)
        {
            if (from == _shard)
                continue;
            int got = _steering.Ring(from, _shard).Dequeue(frames[count..]);
            ReceivedFromOthers += got;
            count += got;
        }
        int room = Math.Min(frames.Length - count, _scratch.Length);
        if (room == 0)
            return count;
        var scratch = _scratch.AsSpan(0, room);
        int received = _inner.Receive(scratch);
        bool anyTarget = false;
        for (int i = 0; i < received; i++)
        {
            ref var frame = ref scratch[i];
            int target = Classify(frame);
            if (target < 0)
            {
                frames[count++] = frame;
                continue;
            }
            if (target == int.MaxValue)
            {
                CopyArpReplyToOthers(frame, ref anyTarget);
                frames[count++] = frame;
                continue;
            }
            if (_steering.Ring(_shard, target).TryEnqueue(frame))
            {
                Forwarded++;
                _targets[target] = true;
                anyTarget = true;
            }
            else
            {
                // The owner is not keeping up: drop (counted) rather than block or grow.
                RingFullDrops++;
                frame.Release();
            }
            frame = default;
        }
        if (anyTarget)
            SignalTargets();
        return count;
    }

    /// <summary>-1: deliver here; int.MaxValue: an ARP reply (here and copies to all); else the owning shard.</summary>
    private int Classify(in PacketBuffer frame)
    {
        var span = frame.Span;
        if (span.Length < 14)
            return -1;
        int etherType = BinaryPrimitives.ReadUInt16BigEndian(span[12..]);
        if (etherType == EtherTypeArp)
            return span.Length >= 22 && BinaryPrimitives.ReadUInt16BigEndian(span[20..]) == 2 && _steering.ShardCount > 1 ? int.MaxValue : -1;
        if (etherType != EtherTypeIpv4 || span.Length < 14 + 20)
            return -1;
        var ip = span[14..];
        int ihl = (ip[0] & 0x0F) * 4;
        byte protocol = ip[9];
        if ((ip[0] >> 4) != 4 || ihl < 20 || ip.Length < ihl + 4)
            return -1; // malformed: the stack drops and counts it
        if ((BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0)
            return -1; // a non-first fragment carries no ports
        if (protocol == Ipv4Header.ProtocolIcmp)
            return ClassifyIcmpError(ip[ihl..]);
        if (protocol != PortSpace.ProtocolUdp && protocol != PortSpace.ProtocolTcp)
            return -1;
        ushort srcPort = BinaryPrimitives.ReadUInt16BigEndian(ip[ihl..]);
        ushort dstPort = BinaryPrimitives.ReadUInt16BigEndian(ip[(ihl + 2)..]);
        return Owner(protocol, dstPort, BinaryPrimitives.ReadUInt32BigEndian(ip[12..]), srcPort);
    }

    // The shard that owns local port `localPort` of `protocol` for the flow with the remote end
    // (remoteAddress, remotePort); -1 when that is this shard.
    private int Owner(byte protocol, ushort localPort, uint remoteAddress, ushort remotePort)
    {
        var table = protocol == PortSpace.ProtocolUdp ? _udpOwners : _tcpOwners;
        ulong owners = table is null ? 0 : Volatile.Read(ref table[localPort]);
        int target = _steering.Owner(protocol, owners, localPort, FlowSteering.FlowHash(remoteAddress, remotePort), _shard);
        return target == _shard ? -1 : target;
    }

    // An ICMP error (RFC 792: destination unreachable, time exceeded, parameter problem) concerns the
    // datagram it quotes (its IP header and at least 8 bytes, RFC 1122 §3.2.2): it goes to the shard
    // owning the quoted flow, whose socket learns the error (ECONNREFUSED on a connected UDP socket).
    // Echo requests and the rest are answered or dropped wherever they land.
    private int ClassifyIcmpError(ReadOnlySpan<byte> icmp)
    {
        if (icmp.Length < IcmpHeader.Length + Ipv4Header.MinLength
            || icmp[0] is not (IcmpHeader.TypeDestinationUnreachable or IcmpHeader.TypeTimeExceeded or IcmpHeader.TypeParameterProblem))
            return -1;
        var quote = icmp[IcmpHeader.Length..];
        int ihl = (quote[0] & 0x0F) * 4;
        byte protocol = quote[9];
        if ((quote[0] >> 4) != 4 || ihl < 20 || quote.Length < ihl + 4
            || (protocol != PortSpace.ProtocolUdp && protocol != PortSpace.ProtocolTcp))
            return -1;
        // The quoted datagram is one we sent: its source port is ours, its destination the remote end.
        ushort localPort = BinaryPrimitives.ReadUInt16BigEndian(quote[ihl..]);
        ushort remotePort = BinaryPrimitives.ReadUInt16BigEndian(quote[(ihl + 2)..]);
        return Owner(protocol, localPort, BinaryPrimitives.ReadUInt32BigEndian(quote[16..]), remotePort);
    }

    private void CopyArpReplyToOthers(in PacketBuffer frame, ref bool anyTarget)
    {
        var pool = _inner.Pool;
        for (int to = 0; to < _steering.ShardCount; to++)
        {
            if (to == _shard)
                continue;
            if (!PacketBuffer.TryRent(pool, out var copy))
            {
                ArpCopyFailures++;
                continue;
            }
            if (copy.TailroomLeft < frame.Length)
            {
                copy.Release();
                ArpCopyFailures++;
                continue;
            }
            frame.Span.CopyTo(copy.Append(frame.Length));
            if (_steering.Ring(_shard, to).TryEnqueue(copy))
            {
                ArpCopies++;
                _targets[to] = true;
                anyTarget = true;
            }
            else
            {
                copy.Release();
                RingFullDrops++;
            }
        }
    }

    private void SignalTargets()
    {
        // The rings' tail stores must be visible before we read whether a target is parked: a target
        // announces parking (full fence) and then checks its rings, so one of the two sides sees the other.
        Interlocked.MemoryBarrier();
        for (int to = 0; to < _targets.Length; to++)
        {
            if (!_targets[to])
                continue;
            _targets[to] = false;
            if (_steering.ShardOf(to) is { } shard && shard.Wake())
                Wakeups++;
        }
    }

    public int Transmit(ReadOnlySpan<PacketBuffer> frames) => _inner.Transmit(frames);

    public void Flush() => _inner.Flush();

    /// <summary>Returns frames still in flight towards this shard to the pool (the shards have stopped).</summary>
    public void ReleasePending()
    {
        var buffer = _scratch;
        for (int from = 0; from < _steering.ShardCount; from++)
        {
            if (from == _shard)
                continue;
            int n;
            while ((n = _steering.Ring(from, _shard).Dequeue(buffer)) > 0)
                for (int i = 0; i < n; i++)
                    buffer[i].Release();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        ReleasePending();
        _inner.Dispose();
    }
}
