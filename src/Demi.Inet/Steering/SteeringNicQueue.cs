using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;

namespace Demi.Transport.Xdp.Internal;

/// <summary>
/// Shard <c>i</c>'s view of its NIC queue under <see cref="FlowSteering"/>: receiving takes the frames
/// other shards steered here, then the queue's own frames, keeping those this shard owns (or that
/// have no other owner) and moving the rest into the owners' rings; transmitting learns port
/// ownership from the frames' source ports. Everything is per burst: no allocation, no lock, and at
/// most one eventfd write per target shard per burst (and one read per burst on a signalled shard).
/// <see cref="WaitFd"/> is an epoll set holding the queue's own fd and the steering eventfd, so a
/// parked shard wakes for either.
/// </summary>
internal sealed unsafe class SteeringNicQueue : INicQueue
{
    private const int EtherTypeIpv4 = 0x0800;
    private const int EtherTypeArp = 0x0806;

    private readonly FlowSteering _steering;
    private readonly int _shard;
    private readonly INicQueue _inner;
    private readonly PacketBuffer[] _scratch = new PacketBuffer[256];
    private readonly bool[] _targets; // shards that got frames in the current burst
    private readonly int _eventFd;
    private readonly int _epollFd;
    private int _signalled; // set by a producer before it writes the eventfd; cleared by this shard
    private int _disposed;

    public long Forwarded, RingFullDrops, ReceivedFromOthers, ArpCopies, ArpCopyFailures;

    public SteeringNicQueue(FlowSteering steering, int shard, INicQueue inner)
    {
        _steering = steering;
        _shard = shard;
        _inner = inner;
        _targets = new bool[steering.ShardCount];
        _eventFd = LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC);
        if (_eventFd < 0)
            ThrowHelper.ThrowXdp("eventfd", Marshal.GetLastSystemError());
        _epollFd = LibC.epoll_create1(LibC.EPOLL_CLOEXEC);
        if (_epollFd < 0)
        {
            int e = Marshal.GetLastSystemError();
            LibC.close(_eventFd);
            ThrowHelper.ThrowXdp("epoll_create1", e);
        }
        Add(_eventFd);
        if (inner.WaitFd >= 0)
            Add(inner.WaitFd);
    }

    private void Add(int fd)
    {
        var ev = new LibC.EpollEvent { Events = LibC.EPOLLIN, Data = (ulong)fd };
        if (LibC.epoll_ctl(_epollFd, LibC.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            int e = Marshal.GetLastSystemError();
            LibC.close(_epollFd);
            LibC.close(_eventFd);
            ThrowHelper.ThrowXdp("epoll_ctl(ADD)", e);
        }
    }

    public INicQueue Inner => _inner;

    public MacAddress MacAddress => _inner.MacAddress;

    public int Mtu => _inner.Mtu;

    public NicOffloads Offloads => _inner.Offloads;

    public BufferPool Pool => _inner.Pool;

    public int WaitFd => _epollFd;

    public int Receive(Span<PacketBuffer> frames)
    {
        int count = 0;
        // Clear the signal before draining: a producer that enqueues after our drain sees it clear
        // and signals again, so no frame waits for a parked shard.
        if (Volatile.Read(ref _signalled) != 0)
        {
            Volatile.Write(ref _signalled, 0);
            Interlocked.MemoryBarrier();
            ulong value;
            LibC.read(_eventFd, &value, sizeof(ulong));
        }
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
        if (protocol != FlowSteering.ProtocolUdp && protocol != FlowSteering.ProtocolTcp)
            return -1;
        ushort srcPort = BinaryPrimitives.ReadUInt16BigEndian(ip[ihl..]);
        ushort dstPort = BinaryPrimitives.ReadUInt16BigEndian(ip[(ihl + 2)..]);
        ulong owners = _steering.Owners(protocol, dstPort);
        if (owners == 0 || (owners & (1UL << _shard)) != 0)
            return -1;
        uint hash = BinaryPrimitives.ReadUInt32BigEndian(ip[12..]) * 0x9E3779B1u ^ srcPort;
        return FlowSteering.PickOwner(owners, hash);
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
        for (int to = 0; to < _targets.Length; to++)
        {
            if (!_targets[to])
                continue;
            _targets[to] = false;
            _steering.Queue(to)?.Signal();
        }
    }

    /// <summary>Producer side: wakes this shard for frames just enqueued (one eventfd write until it drains).</summary>
    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) != 0)
            return;
        ulong one = 1;
        LibC.write(_eventFd, &one, sizeof(ulong));
    }

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        // Learn which shard owns the source ports it sends from (a client's first packet, a server's replies).
        for (int i = 0; i < frames.Length; i++)
        {
            var span = frames[i].Span;
            if (span.Length < 14 + 20 + 4 || BinaryPrimitives.ReadUInt16BigEndian(span[12..]) != EtherTypeIpv4)
                continue;
            var ip = span[14..];
            byte protocol = ip[9];
            int ihl = (ip[0] & 0x0F) * 4;
            if ((protocol != FlowSteering.ProtocolUdp && protocol != FlowSteering.ProtocolTcp) || ip.Length < ihl + 4
                || (BinaryPrimitives.ReadUInt16BigEndian(ip[6..]) & 0x1FFF) != 0)
                continue;
            _steering.Learn(protocol, BinaryPrimitives.ReadUInt16BigEndian(ip[ihl..]), _shard);
        }
        return _inner.Transmit(frames);
    }

    public void Flush() => _inner.Flush();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // Shards have stopped: frames still in flight towards this shard go back to the pool.
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
        LibC.close(_epollFd);
        LibC.close(_eventFd);
        _inner.Dispose();
    }
}
