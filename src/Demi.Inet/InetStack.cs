using System.Runtime.Intrinsics.X86;
using Demi.Buffers;
using Demi.Inet.Headers;
using Demi.Inet.Internal;
using Demi.Inet.Nic;
using Demi.Inet.Pcap;

namespace Demi.Inet;

/// <summary>
/// The user-space IPv4 stack of one NIC queue: Ethernet II, ARP, IPv4, ICMP echo and UDP, with a slot
/// for TCP (<see cref="RegisterProtocol"/>). Single-threaded and run to completion: the owning shard
/// calls <see cref="Poll"/>, which takes a burst of frames, parses them in place and delivers their
/// payloads to sockets, fires due timers and flushes the burst of frames built meanwhile.
/// Nothing on that path allocates managed memory or takes a lock.
/// </summary>
public sealed class InetStack : IIpLayer, IDisposable
{
    /// <summary>Ethernet plus IPv4 header bytes the stack prepends to a transport segment.</summary>
    public const int LinkAndIpHeaderRoom = EthernetHeader.Length + Ipv4Header.MinLength;

    private readonly INicQueue _nic;
    private readonly InetStackOptions _options;
    private readonly PacketBuffer[] _rx;
    private readonly PacketBuffer[] _tx;
    // Who hears about each frame of the transmit burst (a UDP socket's push), parallel to _tx. Two
    // arrays, swapped at each flush, so that an observer pushing while it is told does not overwrite
    // the entries still being reported.
    private TxCompletion[] _txCompletions;
    private TxCompletion[] _txCompletionsFlushing;
    private readonly IIpProtocolHandler?[] _handlers = new IIpProtocolHandler?[256];
    private readonly List<IIpProtocolHandler> _timerHandlers = new();
    private readonly ArpResolver _arp;
    private readonly UdpLayer _udp;
    private readonly InetMetrics _metrics;
    private readonly CapturingNicQueue? _capture;
    private readonly uint _prefixMask;
    private readonly bool _verifyRx;
    private readonly bool _computeTx;
    private int _txCount;
    // Whether the frame being processed still belongs to ProcessFrame (no handler has taken it yet).
    private bool _rxFrameOwned;
    private long _roundClock;
    private bool _roundClockValid;
    private bool _inRound;
    // IHL of the packet being delivered, so that an ICMP error can quote its header (still in front of the segment).
    private int _deliveredHeaderLength;
    // Token bucket for ICMP errors (RFC 1812 §4.3.2.8): at most IcmpErrorBurst at once, one per IcmpErrorInterval.
    private const int IcmpErrorBurst = 50;
    private const long IcmpErrorIntervalMicroseconds = 10_000;
    private int _icmpErrorTokens = IcmpErrorBurst;
    private long _icmpErrorRefillAt;
    private ushort _ipIdentification;
    private readonly InternalErrorLog _internalErrorLog;
    private static long s_internalErrorsInProcess;
    private bool _disposed;

    /// <summary>Creates a stack on <paramref name="nic"/> (which the caller keeps owning and disposes after the stack).</summary>
    public InetStack(INicQueue nic, InetStackOptions options)
    {
        ArgumentNullException.ThrowIfNull(nic);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (nic.Pool.Headroom < LinkAndIpHeaderRoom + UdpHeader.HeaderLength)
            throw new ArgumentException($"The NIC pool's headroom ({nic.Pool.Headroom}) is smaller than the {LinkAndIpHeaderRoom + UdpHeader.HeaderLength} bytes of headers.", nameof(nic));
        _options = options;
        if (options.CapturePath is { } path)
        {
            _capture = new CapturingNicQueue(nic, new PcapWriter(path), ownsInner: false);
            nic = _capture;
        }
        _nic = nic;
        Mac = options.MacAddress ?? nic.MacAddress;
        LocalAddress = options.LocalAddress;
        Mtu = options.Mtu is { } mtu && mtu < nic.Mtu ? mtu : nic.Mtu;
        Clock = options.Clock;
        Ports = options.PortSpace ?? new PortSpace(1);
        if (options.PortShard < 0 || options.PortShard >= Ports.ShardCount)
            throw new ArgumentOutOfRangeException(nameof(options), $"PortShard {options.PortShard} is outside the port space's {Ports.ShardCount} shards.");
        PortShard = options.PortShard;
        _prefixMask = options.PrefixLength == 0 ? 0 : uint.MaxValue << (32 - options.PrefixLength);
        _verifyRx = (nic.Offloads & NicOffloads.RxChecksum) == 0;
        _computeTx = (nic.Offloads & NicOffloads.TxChecksum) == 0;
        _rx = new PacketBuffer[options.BurstSize];
        _tx = new PacketBuffer[options.BurstSize];
        _txCompletions = new TxCompletion[options.BurstSize];
        _txCompletionsFlushing = new TxCompletion[options.BurstSize];
        Counters = new InetCounters();
        _arp = new ArpResolver(this, options, Counters);
        _udp = new UdpLayer(this, options, Counters);
        _handlers[Ipv4Header.ProtocolUdp] = _udp;
        _metrics = new InetMetrics(Counters, LocalAddress.ToString(), nic.Pool);
        _internalErrorLog = new InternalErrorLog(LocalAddress, options.InternalErrorLog);
    }

    /// <summary>Internal errors counted by every stack of this process (except fault-injecting tests'): test suites assert it stays 0.</summary>
    internal static long InternalErrorsInProcess => Interlocked.Read(ref s_internalErrorsInProcess);

    /// <summary>This stack's IPv4 address.</summary>
    public Ipv4Address LocalAddress { get; }

    /// <summary>This stack's MAC address.</summary>
    public MacAddress Mac { get; }

    /// <summary>Largest IPv4 packet sent (IP header included).</summary>
    public int Mtu { get; }

    /// <summary>The NIC queue's buffer pool: rent payload buffers for pushes from it.</summary>
    public BufferPool Pool => _nic.Pool;

    /// <inheritdoc />
    public int HeaderRoom => LinkAndIpHeaderRoom;

    /// <inheritdoc />
    public InetClock Clock { get; }

    /// <summary>
    /// <see cref="Clock"/>'s reading, taken once per round of work instead of once per segment (a vDSO
    /// call each) while a round is on: during <see cref="Poll"/> (its own reading), and on a shard
    /// from the start of its loop's round (<see cref="BeginRound"/>: the first use reads the clock)
    /// until that round's poll ends. A reading is then stale by at most the round's own work
    /// (microseconds), and none survives a park, which comes after a poll. Outside a round (a stack
    /// driven directly, as tests do) every use reads the clock.
    /// </summary>
    public long NowMicroseconds
    {
        get
        {
            if (!_inRound)
                return Clock.NowMicroseconds;
            if (!_roundClockValid)
            {
                _roundClock = Clock.NowMicroseconds;
                _roundClockValid = true;
            }
            return _roundClock;
        }
    }

    /// <summary>Starts a round of the shard loop (its driver calls this before the mailbox drain); it ends with the next <see cref="Poll"/>.</summary>
    internal void BeginRound()
    {
        _inRound = true;
        _roundClockValid = false;
    }

    /// <summary>Offloads for transports: the NIC's, plus both checksum directions when <c>tcp_checksum_offload</c> is set.</summary>
    public NicOffloads Offloads => _options.TcpChecksumOffload ? NicOffloads | NicOffloads.RxChecksum | NicOffloads.TxChecksum : NicOffloads;

    /// <summary>The NIC queue's own offloads.</summary>
    public NicOffloads NicOffloads => _nic.Offloads;

    /// <summary>Drop and traffic counters (also on the "Demi.Inet" meter).</summary>
    public InetCounters Counters { get; }

    /// <summary>Sends waiting for ARP resolution.</summary>
    public int PendingResolutions => _arp.WaitingCount;

    /// <summary>The NIC queue's wait file descriptor (for parking an idle shard), or -1.</summary>
    public int WaitFd => _nic.WaitFd;

    /// <summary>Earliest timer deadline (ARP retries, transports) in microseconds, or <see cref="long.MaxValue"/>.</summary>
    public long NextDeadline
    {
        get
        {
            long next = _arp.NextDeadline;
            foreach (var handler in _timerHandlers)
                next = Math.Min(next, handler.NextDeadline);
            return next;
        }
    }

    /// <summary>
    /// Registers a transport (TCP) for its IP protocol number. ICMP (1) and UDP (17) are built in.
    /// Throws if the number is taken.
    /// </summary>
    public void RegisterProtocol(IIpProtocolHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (handler.Protocol == Ipv4Header.ProtocolIcmp || _handlers[handler.Protocol] is not null)
            ThrowHelper.ThrowInvalidOperation($"IP protocol {handler.Protocol} already has a handler.");
        _handlers[handler.Protocol] = handler;
        _timerHandlers.Add(handler);
        if (handler is IMeteredProtocol metered)
            metered.PublishMetrics(_metrics.Meter, _metrics.StackTag);
    }

    /// <summary>Creates an unbound UDP socket.</summary>
    public UdpSocket CreateUdpSocket() => _udp.CreateSocket();

    /// <summary>The ports this stack binds in: shared by every shard of a libOS (<see cref="InetStackOptions.PortSpace"/>), else its own.</summary>
    public PortSpace Ports { get; }

    /// <summary>This stack's shard index in <see cref="Ports"/>.</summary>
    public int PortShard { get; }

    /// <summary>Adds or replaces a static ARP entry.</summary>
    public void AddStaticArpEntry(Ipv4Address address, MacAddress mac) => _arp.Cache.AddStatic(address, mac);

    /// <summary>Looks up a valid (static or unexpired) ARP entry.</summary>
    public bool TryGetArpEntry(Ipv4Address address, out MacAddress mac) => _arp.Cache.TryGet(address, Clock.NowMicroseconds, out mac);

    /// <summary>The neighbour table (possibly shared with other stacks on the same interface).</summary>
    public ArpCache ArpCache => _arp.Cache;

    /// <summary>
    /// One turn of the shard loop for the network: receive a burst, process it, run due timers, flush
    /// transmissions. Returns the amount of work done: frames received and sent, timers run (0 when idle).
    /// </summary>
    public int Poll()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int work = 0;
        int received = _nic.Receive(_rx);
        long now = Clock.NowMicroseconds;
        LastPollMicroseconds = now;
        _roundClock = now;
        _roundClockValid = true;
        _inRound = true;
        try
        {
            PrefetchHeaders(_rx.AsSpan(0, received));
            for (int i = 0; i < received; i++)
            {
                var frame = _rx[i];
                _rx[i] = default;
                if (i + 1 < received)
                    PrefetchPayload(_rx[i + 1]);
                ProcessFrame(frame, now);
            }
            work += received;
            work += RunTimers(now);
            work += FlushTransmit();
            _nic.Flush();
        }
        finally
        {
            _inRound = false; // the round ends here: the next one reads the clock again
            _roundClockValid = false;
        }
        return work;
    }

    /// <summary>The clock's reading at the start of the last <see cref="Poll"/> (its driver reuses it).</summary>
    internal long LastPollMicroseconds { get; private set; }

    /// <summary>Runs due timers without receiving (also called by <see cref="Poll"/>).</summary>
    public int RunTimers(long now)
    {
        int work = 0;
        if (_arp.WaitingCount > 0)
            work += _arp.CheckShared(now);
        if (_arp.NextDeadline <= now)
            work += _arp.OnTimer(now);
        foreach (var handler in _timerHandlers)
            if (handler.NextDeadline <= now)
                work += handler.OnTimer(now);
        return work;
    }

    /// <summary>
    /// Hands the frames built so far to the NIC (also done by <see cref="Poll"/>); frames it refuses are
    /// dropped (counted as <see cref="DropReason.TxQueueFull"/>) and their UDP pushes complete with ENOBUFS
    /// through <see cref="IUdpSocketObserver.OnPushCompleted"/>. Returns the frames handed over.
    /// </summary>
    public int FlushTransmit()
    {
        if (_txCount == 0)
            return 0;
        int count = _txCount;
        // Reset before notifying: an observer may push again (into a fresh burst).
        _txCount = 0;
        var completions = _txCompletions;
        _txCompletions = _txCompletionsFlushing;
        _txCompletionsFlushing = completions;
        int sent = _nic.Transmit(_tx.AsSpan(0, count));
        Counters.TxFramesCount += sent;
        for (int i = 0; i < sent; i++)
            Counters.TxBytesCount += _tx[i].Length; // the window struct is ours to read; its bytes are the NIC's now
        for (int i = sent; i < count; i++)
        {
            _tx[i].Release();
            Counters.Drop(DropReason.TxQueueFull);
        }
        _tx.AsSpan(0, count).Clear();
        for (int i = 0; i < count; i++)
        {
            ref var c = ref completions[i];
            if (c.Completion is not { } completion)
                continue;
            ulong tag = c.Tag;
            bool reportSuccess = c.ReportSuccess;
            c = default;
            if (i >= sent)
                completion.OnSendCompleted(tag, Errno.ENOBUFS);
            else if (reportSuccess)
                completion.OnSendCompleted(tag, 0);
        }
        return count;
    }

    private const int CacheLineSize = 64;

    // Lines of each frame of a burst asked for before the burst is processed: Ethernet + IPv4 + UDP
    // headers and a small payload. Two lines for a burst of 32 stays well inside L1.
    private const int HeaderPrefetchBytes = 2 * CacheLineSize;

    /// <summary>
    /// Asks, before a burst is processed, for every frame's first lines and its buffer's state line. Another
    /// core wrote the frames (the kernel's copy into the ring); the state line was last touched when the
    /// frame was rented for the fill ring, a ring's depth of frames ago, and delivering the frame reads it
    /// (the sga handle's generation): unasked, that read was 4.4 % of the AF_XDP echo server's samples at
    /// 64 B, asked for here 1.4 % (perf/README.md, fourteenth set).
    /// </summary>
    private static unsafe void PrefetchHeaders(ReadOnlySpan<PacketBuffer> burst)
    {
        if (!Sse.IsSupported)
            return;
        foreach (ref readonly var frame in burst)
        {
            byte* start = (byte*)frame.Address;
            Sse.Prefetch0(start);
            if (frame.Length > CacheLineSize - ((nint)start & (CacheLineSize - 1)))
                Sse.Prefetch0(start + CacheLineSize);
            frame.Pool.PrefetchState(frame.Index);
        }
    }

    /// <summary>
    /// Asks for the rest of a frame's lines ahead of its turn (those <see cref="PrefetchHeaders"/> did not):
    /// the checksum verification would otherwise stall on them one after the other (1400 B: 22 lines, most
    /// of the cost of the verification pass).
    /// </summary>
    private static unsafe void PrefetchPayload(in PacketBuffer frame)
    {
        if (!Sse.IsSupported || frame.Length <= HeaderPrefetchBytes)
            return;
        byte* start = (byte*)frame.Address;
        for (int offset = HeaderPrefetchBytes; offset < frame.Length; offset += CacheLineSize)
            Sse.Prefetch0(start + offset);
    }

    private void ProcessFrame(PacketBuffer frame, long now)
    {
        Counters.RxFramesCount++;
        Counters.RxBytesCount += frame.Length;
        _rxFrameOwned = true;
        try
        {
            if (!EthernetHeader.TryRead(frame.Span, out var eth))
            {
                Drop(frame, DropReason.EthernetTruncated);
                return;
            }
            if (eth.Destination != Mac && !eth.Destination.IsBroadcast)
            {
                Drop(frame, DropReason.EthernetNotForUs);
                return;
            }
            switch (eth.EtherType)
            {
                case EthernetHeader.EtherTypeIpv4:
                    ReceiveIpv4(frame.Slice(EthernetHeader.Length, frame.Length - EthernetHeader.Length));
                    break;
                case EthernetHeader.EtherTypeArp:
                    // Takes the frame where it sends or releases it.
                    _arp.Receive(frame.Slice(EthernetHeader.Length, frame.Length - EthernetHeader.Length), now);
                    break;
                default:
                    Drop(frame, DropReason.UnsupportedEtherType);
                    break;
            }
        }
        catch (Exception e)
        {
            // A parser or handler bug must not take the shard down. A frame no handler took yet is still
            // ours: release it (exactly once). A frame a handler took is not ours to release (that would
            // be a double free); a handler that threw after taking it and before storing or releasing
            // it has lost it, which the InternalError count and the error log report.
            Counters.Drop(DropReason.InternalError);
            bool released = _rxFrameOwned;
            _rxFrameOwned = false;
            if (released)
                frame.Release();
            if (!_options.InjectsFaults)
                Interlocked.Increment(ref s_internalErrorsInProcess);
            _internalErrorLog.Report(e, released, now);
        }
        _rxFrameOwned = false;
    }

    /// <inheritdoc/>
    public void TakeReceived(in PacketBuffer segment) => _rxFrameOwned = false; // the reference moves to the handler

    private void ReceiveIpv4(PacketBuffer packet)
    {
        var reason = Ipv4Header.TryRead(packet.Span, _verifyRx, out var ip);
        if (reason != DropReason.None)
        {
            Drop(packet, reason);
            return;
        }
        if (ip.Destination != LocalAddress && !ip.Destination.IsBroadcast)
        {
            Drop(packet, DropReason.Ipv4NotForUs);
            return;
        }
        if (ip.Source.IsAny || ip.Source.IsBroadcast || ip.Source.IsMulticast)
        {
            Drop(packet, DropReason.Ipv4BadSource);
            return;
        }
        if (IsMartianSource(ip.Source))
        {
            Drop(packet, DropReason.Ipv4MartianSource);
            return;
        }
        if (ip.IsFragment)
        {
            Drop(packet, DropReason.Ipv4Fragment);
            return;
        }
        // The payload without link padding, as a new value (see PacketBuffer.Slice).
        var payload = packet.Slice(ip.HeaderLength, ip.TotalLength - ip.HeaderLength);
        _deliveredHeaderLength = ip.HeaderLength;
        if (ip.Protocol == Ipv4Header.ProtocolIcmp)
        {
            Counters.IpPacketsDeliveredCount++;
            ReceiveIcmp(ip, payload);
            return;
        }
        var handler = _handlers[ip.Protocol];
        if (handler is null)
        {
            Drop(packet, DropReason.Ipv4NoProtocolHandler);
            return;
        }
        Counters.IpPacketsDeliveredCount++;
        // The packet stays ours until the handler takes it (IIpLayer.TakeReceived), so that a handler
        // throwing before then does not lose it.
        handler.Receive(ip.Source, ip.Destination, payload, !_verifyRx);
    }

    /// <summary>A source no neighbour can have: loopback, ours, or the subnet's network or broadcast address (as Linux drops them).</summary>
    private bool IsMartianSource(Ipv4Address source)
        => source.IsLoopback || source == LocalAddress || IsSubnetBroadcastOrNetwork(source.Value);

    /// <summary>
    /// Whether <paramref name="address"/> is the on-link subnet's broadcast or network address. Only for
    /// prefixes up to /30: in a /31 (RFC 3021) and /32 every address is a host.
    /// </summary>
    private bool IsSubnetBroadcastOrNetwork(uint address)
    {
        if (_prefixMask == 0 || _options.PrefixLength > 30 || (address & _prefixMask) != (LocalAddress.Value & _prefixMask))
            return false;
        uint host = address & ~_prefixMask;
        return host == 0 || host == ~_prefixMask;
    }

    private void ReceiveIcmp(in Ipv4Header ip, PacketBuffer message)
    {
        var reason = IcmpHeader.TryRead(message.Span, out var icmp);
        if (reason != DropReason.None)
        {
            Drop(message, reason);
            return;
        }
        if (icmp.Type == IcmpHeader.TypeDestinationUnreachable && ReceiveDestinationUnreachable(ip, icmp.Code, message.Span[IcmpHeader.Length..]))
        {
            Counters.IcmpErrorsReceivedCount++;
            TakeReceived(message);
            message.Release();
            return;
        }
        // Only unicast echo requests are answered (like Linux's icmp_echo_ignore_broadcasts).
        if (icmp.Type != IcmpHeader.TypeEchoRequest || icmp.Code != 0 || ip.Destination.IsBroadcast)
        {
            Drop(message, DropReason.IcmpUnsupported);
            return;
        }
        // The request's buffer becomes the reply: same identifier, sequence and data.
        new IcmpHeader(IcmpHeader.TypeEchoReply, 0, 0, icmp.Identifier, icmp.Sequence).WriteWithChecksum(message.Span);
        Counters.IcmpEchoRepliesSentCount++;
        TakeReceived(message);
        SendIp(ip.Source, Ipv4Header.ProtocolIcmp, message, null, 0);
    }

    // A destination-unreachable about a datagram we sent: the quote is its IP header and 8 bytes.
    // UDP errors go to the connected socket they concern; others are counted as unsupported.
    private bool ReceiveDestinationUnreachable(in Ipv4Header ip, byte code, ReadOnlySpan<byte> quote)
    {
        if (ip.Destination.IsBroadcast || quote.Length < Ipv4Header.MinLength)
            return false;
        int ihl = (quote[0] & 0xF) * 4;
        if ((quote[0] >> 4) != 4 || ihl < Ipv4Header.MinLength || quote.Length < ihl + UdpHeader.HeaderLength)
            return false;
        var quotedSource = Ipv4Address.Read(quote[12..]);
        if (quotedSource != LocalAddress || quote[9] != Ipv4Header.ProtocolUdp)
            return false;
        var quotedDestination = Ipv4Address.Read(quote[16..]);
        var udp = quote[ihl..];
        ushort sourcePort = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(udp);
        ushort destinationPort = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        // RFC 1122 §3.2.2.1 codes → errno as Linux maps them (icmp_err_convert).
        int errno = code switch
        {
            0 => Errno.ENETUNREACH,
            1 => Errno.EHOSTUNREACH,
            2 => Errno.ENOPROTOOPT,
            3 => Errno.ECONNREFUSED,
            4 => Errno.EMSGSIZE,
            _ => Errno.EHOSTUNREACH,
        };
        return _udp.OnIcmpError(sourcePort, new Ipv4Endpoint(quotedDestination, destinationPort), errno);
    }

    /// <summary>
    /// Sends an ICMP destination-unreachable error about the datagram whose transport segment is
    /// <paramref name="segment"/> (being delivered now; its IP header is still in front of it), quoting
    /// that header and 8 bytes. Rate-limited; never about broadcasts. Does not take the segment's reference.
    /// </summary>
    internal void SendDestinationUnreachable(in PacketBuffer segment, Ipv4Address source, Ipv4Address destination, byte code)
    {
        if (destination.IsBroadcast || source.IsBroadcast || source.IsMulticast || segment.HeadroomLeft < _deliveredHeaderLength)
            return;
        long now = Clock.NowMicroseconds;
        if (now >= _icmpErrorRefillAt)
        {
            long refill = 1 + (now - _icmpErrorRefillAt) / IcmpErrorIntervalMicroseconds;
            _icmpErrorTokens = (int)Math.Min(IcmpErrorBurst, _icmpErrorTokens + refill);
            _icmpErrorRefillAt = now + IcmpErrorIntervalMicroseconds;
        }
        if (_icmpErrorTokens == 0)
            return;
        if (!PacketBuffer.TryRent(Pool, out var error))
        {
            Counters.Drop(DropReason.NoBuffer);
            return;
        }
        _icmpErrorTokens--;
        var quoted = segment;
        quoted.Prepend(_deliveredHeaderLength);
        int quoteLength = Math.Min(quoted.Length, _deliveredHeaderLength + 8);
        var message = error.Append(IcmpHeader.Length + quoteLength);
        quoted.Span[..quoteLength].CopyTo(message[IcmpHeader.Length..]);
        new IcmpHeader(IcmpHeader.TypeDestinationUnreachable, code, 0, 0, 0).WriteWithChecksum(message);
        Counters.IcmpErrorsSentCount++;
        SendIp(source, Ipv4Header.ProtocolIcmp, error, null, 0);
    }

    /// <inheritdoc />
    public int Send(Ipv4Address destination, byte protocol, PacketBuffer segment)
    {
        int result = SendIp(destination, protocol, segment, null, 0);
        return result == UdpSocket.Pending ? 0 : result;
    }

    internal int SendIp(Ipv4Address destination, byte protocol, PacketBuffer segment, ISendCompletion? completion, ulong tag)
    {
        if (segment.HeadroomLeft < LinkAndIpHeaderRoom)
        {
            segment.Release();
            return Errno.EINVAL;
        }
        int total = segment.Length + Ipv4Header.MinLength;
        if (total > Mtu)
        {
            segment.Release();
            return Errno.EMSGSIZE;
        }
        uint nextHop = destination.Value;
        if (_prefixMask != 0 && (nextHop & _prefixMask) != (LocalAddress.Value & _prefixMask) && !destination.IsBroadcast)
        {
            if (_options.Gateway.IsAny)
            {
                segment.Release();
                return Errno.ENETUNREACH;
            }
            nextHop = _options.Gateway.Value;
        }
        if (destination == LocalAddress)
        {
            // No loopback path on a NIC queue.
            segment.Release();
            return Errno.EHOSTUNREACH;
        }
        // DF set: the stack never fragments (RFC 791 identification still unique per packet).
        var packet = segment.WithFront(Ipv4Header.MinLength); // a new value, not in place (see PacketBuffer.Slice)
        new Ipv4Header(Ipv4Header.MinLength, 0, (ushort)total, _ipIdentification++, Ipv4Header.FlagDontFragment, _options.Ttl, protocol, 0, LocalAddress, destination)
            .Write(packet.Span[..Ipv4Header.MinLength], _computeTx);
        // Broadcasts go to the link's broadcast address: never ask ARP for them (the subnet's network
        // address counts as a broadcast too, as in Linux's local routing table).
        if (destination.IsBroadcast || IsSubnetBroadcastOrNetwork(destination.Value))
        {
            SendFrame(packet, MacAddress.Broadcast, EthernetHeader.EtherTypeIpv4, completion, tag, reportSuccess: false);
            return 0;
        }
        long now = NowMicroseconds;
        switch (_arp.Find(nextHop, now, out var mac))
        {
            case ArpResolver.Lookup.Hit:
                SendFrame(packet, mac, EthernetHeader.EtherTypeIpv4, completion, tag, reportSuccess: false);
                return 0;
            case ArpResolver.Lookup.Failed:
                packet.Release();
                return Errno.EHOSTUNREACH;
            default:
                return _arp.Enqueue(nextHop, packet, completion, tag, now);
        }
    }

    /// <summary>
    /// Prepends the Ethernet header and adds the frame to the transmit burst. Takes the reference.
    /// <paramref name="completion"/> hears ENOBUFS if the NIC refuses the frame, and 0 when it takes it
    /// if <paramref name="reportSuccess"/> (a send that returned <see cref="UdpSocket.Pending"/>).
    /// </summary>
    internal void SendFrame(PacketBuffer packet, MacAddress destination, ushort etherType,
        ISendCompletion? completion = null, ulong tag = 0, bool reportSuccess = false)
    {
        var frame = packet.WithFront(EthernetHeader.Length); // a new value, not in place (see PacketBuffer.Slice)
        new EthernetHeader(destination, Mac, etherType).Write(frame.Span[..EthernetHeader.Length]);
        if (_txCount == _tx.Length)
            FlushTransmit();
        _txCompletions[_txCount] = new TxCompletion { Completion = completion, Tag = tag, ReportSuccess = reportSuccess };
        _tx[_txCount++] = frame;
    }

    /// <summary>Releases the packets <paramref name="owner"/> has waiting for ARP (a closing socket); each completes with ECANCELED.</summary>
    internal int CancelPending(ISendCompletion owner) => _arp.Cancel(owner);

    internal void Drop(PacketBuffer buffer, DropReason reason)
    {
        // During ProcessFrame only the frame itself is dropped: it is no longer ours to release.
        _rxFrameOwned = false;
        buffer.Release();
        Counters.Drop(reason);
    }

    private struct TxCompletion
    {
        public ISendCompletion? Completion;
        public ulong Tag;
        public bool ReportSuccess;
    }

    /// <summary>Releases queued frames and the capture file; the NIC queue stays the caller's.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        FlushTransmit();
        _arp.Clear();
        _metrics.Dispose();
        _capture?.Dispose();
    }
}
