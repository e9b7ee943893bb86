using Demi.Buffers;
using Demi.Inet.Headers;

namespace Demi.Inet.Internal;

/// <summary>
/// ARP (RFC 826) for one stack: the cache (static and learned entries with a TTL), answers to
/// requests for our address, and resolution with retries for sends, which wait in a bounded queue.
/// Single-threaded (the shard's). Every table is allocated up front so the per-packet path does not allocate.
/// </summary>
internal sealed class ArpResolver
{
    internal enum Lookup { Hit, Miss, Failed }

    private struct Resolution
    {
        public uint Address;
        public bool Active;
        public int RetriesLeft;
        public long Deadline;
        public long FailedUntil;
        // The sends waiting for this address: a FIFO list through Waiting.Next (-1 ends it).
        public int Head;
        public int Tail;
        public int Count;
        public long Bytes;
    }

    private struct Waiting
    {
        public PacketBuffer Packet;
        public ISendCompletion? Completion;
        public ulong Tag;
        public int Next;
    }

    private const int MaxResolutions = 32;

    private readonly InetStack _stack;
    private readonly InetCounters _counters;
    private readonly ArpCache _cache;
    private readonly Resolution[] _resolutions = new Resolution[MaxResolutions];
    private readonly Waiting[] _waiting;
    private readonly long _ttl;
    private readonly long _timeout;
    private readonly long _failureHold;
    private readonly int _retries;
    private readonly long _bytesPerNeighbour;
    private readonly int _framesPerNeighbour;
    // Free waiting slots: a stack through Waiting.Next.
    private int _freeHead;
    private int _waitingCount;

    public ArpResolver(InetStack stack, InetStackOptions options, InetCounters counters)
    {
        _stack = stack;
        _counters = counters;
        _cache = options.ArpCache ?? new ArpCache(options.ArpCacheCapacity);
        _waiting = new Waiting[options.ArpPendingLimit];
        for (int i = 0; i < _waiting.Length; i++)
            _waiting[i].Next = i + 1 < _waiting.Length ? i + 1 : -1;
        _freeHead = _waiting.Length > 0 ? 0 : -1;
        _bytesPerNeighbour = options.ArpPendingBytesPerNeighbour;
        // One neighbour may take at most three quarters of the shared slots: an address that never
        // answers cannot starve sends to the others.
        _framesPerNeighbour = Math.Max(1, options.ArpPendingLimit - options.ArpPendingLimit / 4);
        _ttl = (long)(options.ArpCacheTtl.TotalMilliseconds * 1000);
        _timeout = (long)(options.ArpRequestTimeout.TotalMilliseconds * 1000);
        _failureHold = (long)(options.ArpFailureHoldTime.TotalMilliseconds * 1000);
        _retries = options.ArpRequestRetries;
        foreach (var (ip, mac) in options.ArpTable)
            _cache.AddStatic(ip, mac);
    }

    public int WaitingCount => _waitingCount;

    /// <summary>
    /// Sends what waits for addresses that another stack sharing the cache has resolved meanwhile.
    /// Called each poll while sends wait (at most one lookup per active resolution).
    /// </summary>
    public int CheckShared(long now)
    {
        int work = 0;
        for (int i = 0; i < _resolutions.Length; i++)
        {
            if (_resolutions[i].Active && _cache.TryGet(_resolutions[i].Address, now, out var mac))
            {
                Resolved(_resolutions[i].Address, mac, now);
                work++;
            }
        }
        return work;
    }

    public long NextDeadline
    {
        get
        {
            long next = long.MaxValue;
            foreach (ref readonly var r in _resolutions.AsSpan())
                if (r.Active && r.Deadline < next)
                    next = r.Deadline;
            return next;
        }
    }

    public ArpCache Cache => _cache;

    public Lookup Find(uint address, long now, out MacAddress mac)
    {
        if (_cache.TryGet(address, now, out mac))
        {
            // The cache is shared by the stacks of one interface: another shard may have learnt this
            // neighbour while sends of ours still wait for it here. They leave first, so a send that
            // finds the entry never overtakes earlier sends to the same neighbour.
            if (_waitingCount > 0)
                SendWaiting(address, mac);
            return Lookup.Hit;
        }
        foreach (ref readonly var r in _resolutions.AsSpan())
            if (!r.Active && r.Address == address && r.FailedUntil > now)
                return Lookup.Failed;
        return Lookup.Miss;
    }

    /// <summary>
    /// Queues an IPv4 packet (IP header written) until <paramref name="nextHop"/> resolves. Takes the
    /// reference. Each unresolved neighbour holds at most <see cref="InetStackOptions.ArpPendingBytesPerNeighbour"/>
    /// bytes (Linux's <c>unres_qlen_bytes</c>) and three quarters of the shared slots; beyond that, or when
    /// no resolution can start, the packet is dropped (<see cref="DropReason.ArpPendingQueueFull"/>, ENOBUFS).
    /// </summary>
    public int Enqueue(uint nextHop, PacketBuffer packet, ISendCompletion? completion, ulong tag, long now)
    {
        int resolution = FindResolution(nextHop);
        if (resolution < 0)
            resolution = StartResolution(nextHop, now);
        if (resolution < 0 || _freeHead < 0)
            return RefuseQueued(packet);
        ref var r = ref _resolutions[resolution];
        if (r.Count >= _framesPerNeighbour || (r.Count > 0 && r.Bytes + packet.Length > _bytesPerNeighbour))
            return RefuseQueued(packet);
        int slot = _freeHead;
        _freeHead = _waiting[slot].Next;
        _waiting[slot] = new Waiting { Packet = packet, Completion = completion, Tag = tag, Next = -1 };
        if (r.Count == 0)
            r.Head = slot;
        else
            _waiting[r.Tail].Next = slot;
        r.Tail = slot;
        r.Count++;
        r.Bytes += packet.Length;
        _waitingCount++;
        return UdpSocket.Pending;
    }

    private int RefuseQueued(PacketBuffer packet)
    {
        packet.Release();
        _counters.Drop(DropReason.ArpPendingQueueFull);
        return Errno.ENOBUFS;
    }

    /// <summary>Takes the oldest send waiting on resolution <paramref name="r"/> off its list; false when none is left.</summary>
    private bool TryDequeue(ref Resolution r, out Waiting waiting)
    {
        if (r.Count == 0)
        {
            waiting = default;
            return false;
        }
        int slot = r.Head;
        waiting = _waiting[slot];
        r.Head = waiting.Next;
        r.Count--;
        r.Bytes -= waiting.Packet.Length;
        FreeSlot(slot);
        return true;
    }

    private void FreeSlot(int slot)
    {
        _waiting[slot] = new Waiting { Next = _freeHead };
        _freeHead = slot;
        _waitingCount--;
    }

    private int FindResolution(uint address)
    {
        for (int i = 0; i < _resolutions.Length; i++)
            if (_resolutions[i].Active && _resolutions[i].Address == address)
                return i;
        return -1;
    }

    private int StartResolution(uint address, long now)
    {
        // Reuse a free slot, preferring one whose failure hold has lapsed, else the same address's old failure.
        int slot = -1;
        for (int i = 0; i < _resolutions.Length; i++)
        {
            ref var r = ref _resolutions[i];
            if (r.Active)
                continue;
            if (r.Address == address || r.FailedUntil <= now)
            {
                slot = i;
                break;
            }
        }
        if (slot < 0 && EvictStaleResolution())
            return StartResolution(address, now);
        if (slot < 0)
            return -1;
        _resolutions[slot] = new Resolution { Address = address, Active = true, RetriesLeft = _retries, Deadline = now + _timeout };
        SendRequest(address);
        return slot;
    }

    /// <summary>
    /// Every slot resolves something: give up the resolution that has been unanswered longest, if it has
    /// already had to retry (a live neighbour answers the first request). Many addresses that never
    /// answer (a spoofed flood) then cannot keep new neighbours from being resolved. False when none qualifies.
    /// </summary>
    private bool EvictStaleResolution()
    {
        int victim = -1;
        for (int i = 0; i < _resolutions.Length; i++)
        {
            ref readonly var r = ref _resolutions[i];
            if (r.Active && r.RetriesLeft < _retries && (victim < 0 || r.RetriesLeft < _resolutions[victim].RetriesLeft
                || (r.RetriesLeft == _resolutions[victim].RetriesLeft && r.Deadline < _resolutions[victim].Deadline)))
                victim = i;
        }
        if (victim < 0)
            return false;
        _counters.ArpResolutionsEvictedCount++;
        var evicted = _resolutions[victim];
        _resolutions[victim] = default;
        FailWaiting(ref evicted, Errno.EHOSTUNREACH);
        return true;
    }

    private void SendRequest(uint target)
    {
        if (!PacketBuffer.TryRent(_stack.Pool, out var buffer))
        {
            _counters.Drop(DropReason.NoBuffer);
            return;
        }
        new ArpPacket(ArpPacket.OperationRequest, _stack.Mac, _stack.LocalAddress, MacAddress.Zero, new Ipv4Address(target)).Write(buffer.Append(ArpPacket.Length));
        _counters.ArpRequestsSentCount++;
        _stack.SendFrame(buffer, MacAddress.Broadcast, EthernetHeader.EtherTypeArp);
    }

    /// <summary>
    /// Handles a received ARP packet (Ethernet header stripped). Takes the reference (from the stack,
    /// <see cref="InetStack.TakeReceived"/>) only where it sends or releases it, after the work that may throw.
    /// </summary>
    public void Receive(PacketBuffer packet, long now)
    {
        var reason = ArpPacket.TryRead(packet.Span, out var arp);
        if (reason != DropReason.None)
        {
            _stack.Drop(packet, reason);
            return;
        }
        var local = _stack.LocalAddress;
        bool senderValid = !arp.SenderAddress.IsAny && !arp.SenderAddress.IsBroadcast && !arp.SenderAddress.IsMulticast
                           && !arp.SenderMac.IsMulticast && arp.SenderMac != MacAddress.Zero && arp.SenderAddress != local;
        // RFC 826 merge: refresh an entry we already have, whoever the packet is for.
        bool merged = senderValid && _cache.Refresh(arp.SenderAddress.Value, arp.SenderMac, now + _ttl);
        if (arp.TargetAddress != local)
        {
            if (merged)
                Resolved(arp.SenderAddress.Value, arp.SenderMac, now);
            _stack.Drop(packet, DropReason.ArpNotForUs);
            return;
        }
        if (senderValid && !merged)
            _cache.Learn(arp.SenderAddress.Value, arp.SenderMac, now + _ttl, now);
        if (senderValid)
            Resolved(arp.SenderAddress.Value, arp.SenderMac, now);
        if (arp.Operation == ArpPacket.OperationRequest)
        {
            // Answer in place: the request's buffer becomes the reply (no allocation, no copy).
            new ArpPacket(ArpPacket.OperationReply, _stack.Mac, local, arp.SenderMac, arp.SenderAddress).Write(packet.Span);
            packet.Truncate(ArpPacket.Length);
            _counters.ArpRepliesSentCount++;
            _stack.TakeReceived(packet);
            _stack.SendFrame(packet, arp.SenderMac, EthernetHeader.EtherTypeArp);
        }
        else
        {
            _stack.TakeReceived(packet);
            packet.Release();
        }
    }

    /// <summary>
    /// An address resolved to <paramref name="answered"/>: send what waited for it, oldest first. The
    /// cache's entry wins when there is one (a static entry is not overridden by the wire); otherwise
    /// the answer itself is used, so that the sends go out even when the (shared, bounded) cache did
    /// not keep it: the resolution slot is cleared here, so nothing else would ever send them.
    /// </summary>
    private void Resolved(uint address, MacAddress answered, long now)
    {
        if (!_cache.TryGet(address, now, out var mac))
            mac = answered;
        SendWaiting(address, mac);
    }

    // Sends what waits for `address` to `mac`, oldest first, and ends its resolution.
    private void SendWaiting(uint address, MacAddress mac)
    {
        int index = FindResolution(address);
        if (index < 0)
            return;
        ref var r = ref _resolutions[index];
        while (TryDequeue(ref r, out var w))
        {
            // The outcome (0, or ENOBUFS if the NIC refuses the frame) is reported at the transmit flush.
            _stack.SendFrame(w.Packet, mac, EthernetHeader.EtherTypeIpv4, w.Completion, w.Tag, reportSuccess: true);
        }
        r = default;
    }

    /// <summary>Retries or fails due resolutions; returns the work done.</summary>
    public int OnTimer(long now)
    {
        int work = 0;
        for (int i = 0; i < _resolutions.Length; i++)
        {
            ref var r = ref _resolutions[i];
            if (!r.Active || r.Deadline > now)
                continue;
            work++;
            if (_cache.TryGet(r.Address, now, out var mac))
            {
                // Another stack sharing the cache (another shard's queue) got the reply.
                Resolved(r.Address, mac, now);
                continue;
            }
            if (r.RetriesLeft > 0)
            {
                r.RetriesLeft--;
                r.Deadline = now + _timeout;
                SendRequest(r.Address);
                continue;
            }
            // Give up: the waiting sends fail with ETIMEDOUT; new ones fail fast with EHOSTUNREACH for a while.
            r.Active = false;
            r.FailedUntil = now + _failureHold;
            // Detach the list first: a completion may send again, and reuse this slot.
            var failed = r;
            r.Count = 0;
            r.Bytes = 0;
            FailWaiting(ref failed, Errno.ETIMEDOUT);
        }
        return work;
    }

    private void FailWaiting(ref Resolution r, int errno)
    {
        while (TryDequeue(ref r, out var w))
        {
            w.Packet.Release();
            _counters.Drop(DropReason.ArpResolutionFailed);
            w.Completion?.OnSendCompleted(w.Tag, errno);
        }
    }

    /// <summary>
    /// Releases the waiting packets of <paramref name="owner"/> (a closing socket) so that they are never
    /// sent; each completes with ECANCELED. Their resolutions go on (other sends may share them).
    /// </summary>
    public int Cancel(ISendCompletion owner)
    {
        int cancelled = 0;
        for (int i = 0; i < _resolutions.Length && _waitingCount > 0; i++)
        {
            ref var r = ref _resolutions[i];
            // Rebuild the list without the owner's sends, keeping the others' order.
            int count = r.Count;
            for (int k = 0; k < count; k++)
            {
                TryDequeue(ref r, out var w);
                if (ReferenceEquals(w.Completion, owner))
                {
                    w.Packet.Release();
                    cancelled++;
                    owner.OnSendCompleted(w.Tag, Errno.ECANCELED);
                    continue;
                }
                int slot = _freeHead;
                _freeHead = _waiting[slot].Next;
                w.Next = -1;
                _waiting[slot] = w;
                if (r.Count == 0)
                    r.Head = slot;
                else
                    _waiting[r.Tail].Next = slot;
                r.Tail = slot;
                r.Count++;
                r.Bytes += w.Packet.Length;
                _waitingCount++;
            }
        }
        return cancelled;
    }

    /// <summary>Releases every waiting packet (stack shutdown).</summary>
    public void Clear()
    {
        for (int i = 0; i < _resolutions.Length; i++)
        {
            ref var r = ref _resolutions[i];
            while (TryDequeue(ref r, out var w))
            {
                w.Packet.Release();
                w.Completion?.OnSendCompleted(w.Tag, Errno.ECANCELED);
            }
        }
    }
}
