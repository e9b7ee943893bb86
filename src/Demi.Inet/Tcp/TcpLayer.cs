using Demi.Buffers;
using Demi.Inet.Nic;
using Demi.Inet.Internal;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

/// <summary>
/// The TCP protocol (RFC 9293) of one stack instance: demultiplexes segments to connections and
/// listeners, runs their timers, and owns the port and connection tables. It is single-threaded:
/// the shard that drives the IPv4 layer calls <see cref="Receive"/>, <see cref="OnTimer"/> and the
/// <see cref="TcpSocket"/> API from one thread. Nothing on the per-segment path allocates.
/// </summary>
public sealed class TcpLayer : IIpProtocolHandler, IMeteredProtocol
{
    private readonly Dictionary<ConnectionKey, TcpSocket> _connections = new();
    // Sockets bound to each local port (listeners and explicitly bound sockets).
    private readonly Dictionary<ushort, List<TcpSocket>> _bound = new();
    // Connections per local port (so that port-0 binds avoid ports in use).
    private readonly Dictionary<ushort, int> _localPortUse = new();
    private readonly PriorityQueue<TcpSocket, long> _timers = new();
    private readonly List<TcpSocket> _eventSockets = new();
    private readonly IsnGenerator _isn = new();
    private readonly Random _random;
    private bool _dispatching;
    private long _challengeWindowStart;
    private int _challengeCount;

    /// <summary>
    /// Creates the TCP layer over an IPv4 layer (which must then register it as protocol 6). Its ports
    /// come from the stack's <see cref="InetStack.Ports"/> (shared by every shard of a libOS), or from
    /// a port space of its own over another IPv4 layer.
    /// </summary>
    public TcpLayer(IIpLayer ip, TcpConfig? config = null)
        : this(ip, config, (ip as InetStack)?.Ports ?? new PortSpace(1), (ip as InetStack)?.PortShard ?? 0)
    {
    }

    /// <summary>Creates the TCP layer of shard <paramref name="shard"/> of <paramref name="ports"/>.</summary>
    public TcpLayer(IIpLayer ip, TcpConfig? config, PortSpace ports, int shard)
    {
        Ip = ip ?? throw new ArgumentNullException(nameof(ip));
        Ports = ports ?? throw new ArgumentNullException(nameof(ports));
        ArgumentOutOfRangeException.ThrowIfNegative(shard);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(shard, ports.ShardCount);
        PortShard = shard;
        Config = config ?? new TcpConfig();
        _random = Config.RandomSeed is int seed ? new Random(seed) : new Random();
        int room = ip.HeaderRoom + TcpHeaderWriter.MaxHeaderLength;
        if (ip.Pool.BufferSize - room < 64)
            throw new ArgumentException("The pool's buffers are too small for TCP segments.", nameof(ip));
        // Largest payload: what the link carries, and what one pool buffer holds after the headers.
        LocalMss = Math.Max(64, Math.Min(ip.Mtu - 40, ip.Pool.BufferSize - room));
    }

    /// <summary>The IPv4 layer below.</summary>
    public IIpLayer Ip { get; }

    /// <summary>The libOS-wide port space binds and ephemeral ports come from.</summary>
    public PortSpace Ports { get; }

    /// <summary>This layer's shard in <see cref="Ports"/> (its ephemeral ports are those with <c>port % shards == PortShard</c>).</summary>
    public int PortShard { get; }

    /// <summary>Settings (change before creating sockets).</summary>
    public TcpConfig Config { get; }

    /// <summary>Counters.</summary>
    public TcpStatistics Statistics { get; } = new();

    /// <inheritdoc />
    public byte Protocol => 6;

    void IMeteredProtocol.PublishMetrics(System.Diagnostics.Metrics.Meter meter, KeyValuePair<string, object?> stackTag)
        => TcpMetrics.Publish(Statistics, meter, stackTag);

    /// <summary>MSS this stack announces: the link MTU minus 40, bounded by the pool's buffer size.</summary>
    public int LocalMss { get; }

    /// <summary>Connections in the connection table (TIME_WAIT and orphans included).</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Adds the number of connections in each <see cref="TcpState"/> to <paramref name="counts"/>
    /// (indexed by state). Call it on the stack's shard thread (metrics do, through Shard.Invoke).
    /// </summary>
    public void CountConnectionsByState(Span<int> counts)
    {
        foreach (var connection in _connections.Values)
        {
            int state = (int)connection.State;
            if ((uint)state < (uint)counts.Length)
                counts[state]++;
        }
    }

    /// <summary>Sockets the application created or accepted and has not closed yet.</summary>
    public int OpenSockets { get; internal set; }

    internal InetClock Clock => Ip.Clock;

    internal long Now => Ip.NowMicroseconds;

    /// <summary>Creates an unbound socket.</summary>
    public TcpSocket CreateSocket()
    {
        OpenSockets++;
        return new TcpSocket(this, null);
    }

    /// <inheritdoc />
    public long NextDeadline
    {
        get
        {
            // Drop stale heap entries so that the shard does not wake up for nothing.
            while (_timers.TryPeek(out var socket, out long at))
            {
                if (socket.ScheduledAt == at)
                    return at;
                _timers.Dequeue();
            }
            return long.MaxValue;
        }
    }

    /// <inheritdoc />
    public int OnTimer(long nowMicroseconds)
    {
        int work = 0;
        while (_timers.TryPeek(out var socket, out long at) && at <= nowMicroseconds)
        {
            _timers.Dequeue();
            if (socket.ScheduledAt != at)
                continue; // stale entry: the socket's deadline moved
            socket.ScheduledAt = long.MaxValue;
            socket.OnTimer(nowMicroseconds);
            Schedule(socket);
            work++;
        }
        DispatchEvents();
        return work;
    }

    /// <inheritdoc />
    public void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified)
    {
        Statistics.SegmentsReceived++;
        var span = segment.Span;
        var parseError = TcpSegment.Parse(span, out var seg);
        if (parseError != TcpParseError.None)
        {
            Statistics.MalformedDropped++;
            switch (parseError)
            {
                case TcpParseError.Truncated: Statistics.TruncatedDropped++; break;
                case TcpParseError.BadDataOffset: Statistics.BadDataOffsetDropped++; break;
                default: Statistics.BadOptionsDropped++; break;
            }
            Discard(segment);
            return;
        }
        if (!checksumVerified && (Ip.Offloads & NicOffloads.RxChecksum) == 0 && !TcpHeaderWriter.VerifyChecksum(span, source, destination))
        {
            Statistics.ChecksumErrors++;
            Discard(segment);
            return;
        }
        if (destination.IsBroadcast || destination.IsMulticast || source.IsBroadcast || source.IsMulticast || source.IsAny
            || seg.SourcePort == 0 || seg.DestinationPort == 0)
        {
            Statistics.MalformedDropped++; // RFC 9293 §3.9: never answer (or reset) such segments
            Statistics.BadAddressDropped++;
            Discard(segment);
            return;
        }
        segment.TrimFront(seg.HeaderLength);
        var key = new ConnectionKey(destination.Value, seg.DestinationPort, source.Value, seg.SourcePort);
        if (_connections.TryGetValue(key, out var connection))
        {
            if (connection.State == TcpState.TimeWait && seg.Syn && !seg.HasAck && connection.AcceptsNewIncarnation(in seg))
            {
                // RFC 9293 §3.10.7.4 / RFC 6191: a new SYN may reopen a TIME_WAIT connection.
                connection.ReleaseTimeWait();
            }
            else
            {
                connection.OnSegment(ref seg, segment); // takes the segment where it keeps or releases it
                Schedule(connection);
                DispatchEvents();
                return;
            }
        }
        var listener = FindListener(destination, seg.DestinationPort);
        if (listener is not null)
        {
            listener.OnListenSegment(source, destination, ref seg, segment); // takes and releases it
        }
        else
        {
            Statistics.NoPortDropped++;
            Discard(segment);
            SendResetFor(in seg, source, destination);
        }
        DispatchEvents();
    }

    // A segment dropped before any connection saw it: taken from the stack, then released.
    private void Discard(PacketBuffer segment)
    {
        Ip.TakeReceived(segment);
        segment.Release();
    }

    /// <summary>Delivers pending socket events to their observers (see <see cref="ITcpSocketObserver"/>).</summary>
    public void DispatchEvents()
    {
        if (_dispatching)
            return;
        _dispatching = true;
        try
        {
            // Index loop: observers may raise further events, which append to the list.
            for (int i = 0; i < _eventSockets.Count; i++)
            {
                var socket = _eventSockets[i];
                var events = socket.PendingEvents;
                socket.PendingEvents = TcpEvents.None;
                if (events != TcpEvents.None)
                    socket.Observer?.OnTcpEvents(socket, events);
            }
            _eventSockets.Clear();
        }
        finally
        {
            _dispatching = false;
        }
    }

    internal void Raise(TcpSocket socket, TcpEvents events)
    {
        if (socket.PendingEvents == TcpEvents.None)
            _eventSockets.Add(socket);
        socket.PendingEvents |= events;
    }

    internal void Schedule(TcpSocket socket)
    {
        long deadline = socket.NextDeadline;
        if (deadline < socket.ScheduledAt)
        {
            socket.ScheduledAt = deadline;
            _timers.Enqueue(socket, deadline);
        }
    }

    private TcpSocket? FindListener(Ipv4Address address, ushort port)
    {
        if (!_bound.TryGetValue(port, out var sockets))
            return null;
        TcpSocket? wildcard = null;
        foreach (var socket in sockets)
        {
            if (socket.State != TcpState.Listen)
                continue;
            if (socket.LocalEndpoint.Address == address)
                return socket;
            if (socket.LocalEndpoint.Address.IsAny)
                wildcard = socket;
        }
        return wildcard;
    }

    internal uint NextIsn(ConnectionKey key) => _isn.Next(Now, key);

    internal uint RandomUInt32() => (uint)_random.NextInt64(0, 1L << 32);

    /// <summary>A secret, per address pair offset of the timestamp clock (RFC 7323 §5.4).</summary>
    internal uint TimestampOffset(ConnectionKey key)
        => _isn.Next(0, new ConnectionKey(key.LocalAddress, 0, key.RemoteAddress, 0));

    internal bool IsInUse(ConnectionKey key) => _connections.ContainsKey(key);

    /// <summary>Adds a connection to the table; <paramref name="portCounted"/> when <see cref="PickConnectPort"/> already counted it in the port space.</summary>
    internal void Register(TcpSocket socket, ConnectionKey key, bool portCounted)
    {
        _connections.Add(key, socket);
        _localPortUse[key.LocalPort] = _localPortUse.GetValueOrDefault(key.LocalPort) + 1;
        if (!portCounted)
            Ports.AddConnection(key.LocalPort);
    }

    internal void Unregister(TcpSocket socket, ConnectionKey key)
    {
        if (_connections.TryGetValue(key, out var existing) && ReferenceEquals(existing, socket))
        {
            _connections.Remove(key);
            int use = _localPortUse[key.LocalPort] - 1;
            if (use == 0)
                _localPortUse.Remove(key.LocalPort);
            else
                _localPortUse[key.LocalPort] = use;
            Ports.RemoveConnection(key.LocalPort);
        }
    }

    /// <summary>
    /// Binds <paramref name="socket"/> to <paramref name="endpoint"/> in the libOS-wide port space
    /// (port 0: a random free ephemeral port naming this shard). EADDRINUSE, EADDRNOTAVAIL.
    /// </summary>
    internal int Bind(TcpSocket socket, ref Ipv4Endpoint endpoint)
    {
        if (!endpoint.Address.IsAny && endpoint.Address != Ip.LocalAddress)
            return Errno.EADDRNOTAVAIL;
        int rc = Ports.Bind(PortSpace.ProtocolTcp, socket, endpoint.Address, endpoint.Port, PortShard, socket.ReuseAddress, reusePort: false,
            Config.EphemeralPortFirst, Config.EphemeralPortLast, _random, out ushort port);
        if (rc != 0)
            return rc;
        AddLocal(socket, port);
        endpoint = new Ipv4Endpoint(endpoint.Address, port);
        return 0;
    }

    /// <summary>Checks with the port space that <paramref name="socket"/> may listen on its port (a port has one listener).</summary>
    internal int StartListening(TcpSocket socket, ushort port) => Ports.Listen(socket, port, allShards: false);

    /// <summary>Adds <paramref name="socket"/> to this layer's table of sockets on <paramref name="port"/> (where segments find listeners).</summary>
    internal void AddLocal(TcpSocket socket, ushort port)
    {
        if (!_bound.TryGetValue(port, out var list))
        {
            list = new List<TcpSocket>(2);
            _bound.Add(port, list);
        }
        list.Add(socket);
    }

    /// <summary>Removes a binding; a listener replica (see <see cref="TcpSocket.ListenReplica"/>) has none in the port space.</summary>
    internal void Unbind(TcpSocket socket, ushort port, bool replica = false)
    {
        if (_bound.TryGetValue(port, out var list))
        {
            list.Remove(socket);
            if (list.Count == 0)
                _bound.Remove(port);
        }
        if (!replica)
            Ports.Unbind(PortSpace.ProtocolTcp, socket, port);
    }

    /// <summary>
    /// An ephemeral port for an active open to <paramref name="remote"/>: one naming this shard, bound by
    /// no socket in the libOS, with a unique 4-tuple; counted as a connection in the port space. 0 when
    /// the range is exhausted.
    /// </summary>
    internal ushort PickConnectPort(uint localAddress, Ipv4Endpoint remote)
        => Ports.ReserveConnectPort(PortShard, Config.EphemeralPortFirst, Config.EphemeralPortLast, _random,
            p => !_bound.ContainsKey(p) && !_connections.ContainsKey(new ConnectionKey(localAddress, p, remote.Address.Value, remote.Port)));

    /// <summary>RFC 5961 §7: a layer-wide budget of challenge ACKs per second.</summary>
    internal bool AllowChallengeAck()
    {
        long now = Now;
        if (now - _challengeWindowStart >= 1_000_000)
        {
            _challengeWindowStart = now;
            _challengeCount = 0;
        }
        if (_challengeCount >= Config.ChallengeAckLimit)
            return false;
        _challengeCount++;
        Statistics.ChallengeAcksSent++;
        return true;
    }

    /// <summary>Rents a buffer for an outgoing segment, positioned so that TCP, IPv4 and link headers fit in front.</summary>
    internal bool TryRentSegment(out PacketBuffer buffer)
    {
        if (!PacketBuffer.TryRent(Ip.Pool, out buffer))
        {
            Statistics.NoBufferDrops++;
            return false;
        }
        buffer.Offset = Ip.HeaderRoom + TcpHeaderWriter.MaxHeaderLength;
        buffer.Length = 0;
        return true;
    }

    /// <summary>Fills the checksum (unless offloaded) and hands the segment to IPv4; returns its errno (EHOSTUNREACH, ...).</summary>
    internal int Transmit(Ipv4Address source, Ipv4Address destination, PacketBuffer segment)
    {
        if ((Ip.Offloads & NicOffloads.TxChecksum) == 0)
            TcpHeaderWriter.FillChecksum(segment.Span, source, destination);
        Statistics.SegmentsSent++;
        return Ip.Send(destination, 6, segment);
    }

    /// <summary>RFC 9293 §3.10.7.1: the reset answering a segment that has no connection.</summary>
    internal void SendResetFor(in TcpSegment seg, Ipv4Address remote, Ipv4Address local)
    {
        if (seg.Rst)
            return;
        uint seq, ack;
        byte flags;
        if (seg.HasAck)
        {
            seq = seg.Ack;
            ack = 0;
            flags = TcpFlags.Rst;
        }
        else
        {
            seq = 0;
            ack = seg.Seq + seg.SegmentLength;
            flags = TcpFlags.Rst | TcpFlags.Ack;
        }
        SendBare(local, seg.DestinationPort, remote, seg.SourcePort, seq, ack, flags);
    }

    internal void SendBare(Ipv4Address local, ushort localPort, Ipv4Address remote, ushort remotePort, uint seq, uint ack, byte flags)
    {
        if (!TryRentSegment(out var buffer))
            return;
        var header = buffer.Prepend(TcpSegment.MinHeaderLength);
        TcpHeaderWriter.WriteFixed(header, localPort, remotePort, seq, ack, flags, 0, TcpSegment.MinHeaderLength);
        if ((flags & TcpFlags.Rst) != 0)
            Statistics.ResetsSent++;
        Transmit(local, remote, buffer);
    }

    /// <summary>The connection table (diagnostics and tests).</summary>
    internal IEnumerable<TcpSocket> Connections => _connections.Values;

    internal IEnumerable<TcpSocket> ChildrenOf(TcpSocket listener)
    {
        var children = new List<TcpSocket>();
        foreach (var socket in _connections.Values)
        {
            if (ReferenceEquals(socket.Listener, listener))
                children.Add(socket);
        }
        return children;
    }
}
