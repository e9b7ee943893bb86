using System.Diagnostics;

namespace Demi.Inet;

/// <summary>
/// The local ports of one libOS, shared by every shard's stack and both protocols (one instance per
/// <see cref="InetBackend"/>): binds conflict across shards as on Linux, ephemeral ports come from one
/// allocator and name their shard (<c>port % ShardCount == shard</c>, as F-Stack and Seastar do), so
/// a client flow's frames can be steered home without a table. It also keeps, per port, the set of
/// shards a received frame may belong to (<see cref="OwnersOf"/>), which is what <see cref="FlowSteering"/>
/// reads per frame. Binding, listening and connection setup take a lock (control path); the per-frame
/// read is one volatile load.
/// </summary>
/// <remarks>
/// Bind rules (Linux <c>inet_csk_bind_conflict</c>, simplified to one local address): two sockets of
/// one protocol on one port conflict when their addresses overlap (equal, or either the wildcard),
/// unless both set SO_REUSEADDR and neither listens (TCP; for UDP both setting it is enough). A TCP
/// bind to a port that connections still use (TIME_WAIT included) needs SO_REUSEADDR. UDP sockets that
/// all set SO_REUSEPORT share a port whatever their addresses, and form a group: a port whose newest
/// binding is in a group belongs to every shard with a member (Linux <c>reuseport</c> groups; the same
/// user is implied, there being one per libOS).
/// </remarks>
public sealed class PortSpace
{
    /// <summary>Most shards one port space serves (owner sets are 64-bit masks).</summary>
    public const int MaxShards = 64;

    /// <summary>IP protocol number of TCP.</summary>
    public const byte ProtocolTcp = 6;

    /// <summary>IP protocol number of UDP.</summary>
    public const byte ProtocolUdp = 17;

    private const int PortCount = 65536;

    private readonly Lock _gate = new();
    // (protocol, port) -> sockets bound there.
    private readonly Dictionary<int, List<Binding>> _bindings = new();
    // TCP connections (any state but CLOSED) per local port, across shards.
    private readonly int[] _tcpConnections = new int[PortCount];
    // Shards a frame to a local port may belong to; null with one shard (nothing to steer).
    private readonly ulong[]? _tcpOwners;
    private readonly ulong[]? _udpOwners;
    private readonly ulong _allShards;

    private sealed class Binding(object owner, Ipv4Address address, int shard, bool reuseAddress, bool reusePort)
    {
        public readonly object Owner = owner;
        public readonly Ipv4Address Address = address;
        public readonly int Shard = shard;
        public readonly bool ReuseAddress = reuseAddress;
        public readonly bool ReusePort = reusePort;
        public bool Listening;
        public bool AllShards;
    }

    /// <summary>Creates the port space of a libOS with <paramref name="shardCount"/> shards.</summary>
    public PortSpace(int shardCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shardCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shardCount, MaxShards);
        ShardCount = shardCount;
        _allShards = shardCount == 64 ? ulong.MaxValue : (1UL << shardCount) - 1;
        if (shardCount > 1)
        {
            _tcpOwners = new ulong[PortCount];
            _udpOwners = new ulong[PortCount];
        }
    }

    /// <summary>Number of shards sharing the ports.</summary>
    public int ShardCount { get; }

    /// <summary>
    /// The shards a received frame to local <paramref name="port"/> belongs to, as a bit mask: the
    /// shards of the sockets bound there (every shard for a listener, every member's for a UDP
    /// SO_REUSEPORT group), 0 when none (then the port's
    /// shard is <c>port % ShardCount</c>: an ephemeral port of a connection). Always 0 with one shard.
    /// </summary>
    public ulong OwnersOf(byte protocol, ushort port)
    {
        var table = protocol == ProtocolTcp ? _tcpOwners : protocol == ProtocolUdp ? _udpOwners : null;
        return table is null ? 0 : Volatile.Read(ref table[port]);
    }

    /// <summary>The owner mask table of <paramref name="protocol"/> for the steering fast path (null with one shard).</summary>
    internal ulong[]? OwnerTable(byte protocol) => protocol == ProtocolTcp ? _tcpOwners : _udpOwners;

    /// <summary>Sockets bound to <paramref name="port"/> (diagnostics and tests).</summary>
    public int BindingCount(byte protocol, ushort port)
    {
        lock (_gate)
            return _bindings.TryGetValue(Key(protocol, port), out var list) ? list.Count : 0;
    }

    /// <summary>TCP connections using local <paramref name="port"/> across all shards.</summary>
    public int ConnectionsOn(ushort port) => Volatile.Read(ref _tcpConnections[port]);

    /// <summary>
    /// Binds <paramref name="owner"/> (a socket of shard <paramref name="shard"/>) to
    /// <paramref name="address"/>:<paramref name="port"/>; port 0 picks a free ephemeral port of
    /// [<paramref name="first"/>, <paramref name="last"/>] that names the shard. <paramref name="reusePort"/>
    /// (UDP only) joins the port's SO_REUSEPORT group. Returns 0 with the
    /// port in <paramref name="bound"/>, EADDRINUSE on a conflict or when no ephemeral port is free.
    /// </summary>
    internal int Bind(byte protocol, object owner, Ipv4Address address, ushort port, int shard, bool reuseAddress, bool reusePort,
        int first, int last, Random random, out ushort bound)
    {
        Debug.Assert(shard >= 0 && shard < ShardCount);
        Debug.Assert(!reusePort || protocol == ProtocolUdp);
        bound = 0;
        lock (_gate)
        {
            if (port == 0)
            {
                port = PickEphemeral(shard, first, last, random, p => !_bindings.ContainsKey(Key(protocol, p))
                    && (protocol != ProtocolTcp || _tcpConnections[p] == 0));
                if (port == 0)
                    return Errno.EADDRINUSE;
            }
            else
            {
                if (Conflicts(protocol, port, address, reuseAddress, reusePort, except: null))
                    return Errno.EADDRINUSE;
                if (protocol == ProtocolTcp && !reuseAddress && _tcpConnections[port] > 0)
                    return Errno.EADDRINUSE; // connections (e.g. TIME_WAIT) still use the port
            }
            int key = Key(protocol, port);
            if (!_bindings.TryGetValue(key, out var list))
                _bindings.Add(key, list = new List<Binding>(1));
            list.Add(new Binding(owner, address, shard, reuseAddress, reusePort));
            UpdateOwners(protocol, port, list);
            bound = port;
            return 0;
        }
    }

    /// <summary>
    /// Marks <paramref name="owner"/>'s TCP binding as listening (EADDRINUSE when another socket on the
    /// port shares it through SO_REUSEADDR: a port has one listener). With <paramref name="allShards"/>
    /// the listener accepts on every shard, so frames to the port spread over all of them.
    /// </summary>
    internal int Listen(object owner, ushort port, bool allShards)
    {
        lock (_gate)
        {
            var binding = Find(ProtocolTcp, port, owner);
            if (binding is null)
                return Errno.EINVAL;
            if (!binding.Listening && Conflicts(ProtocolTcp, port, binding.Address, binding.ReuseAddress, reusePort: false, except: binding))
                return Errno.EADDRINUSE;
            binding.Listening = true;
            binding.AllShards |= allShards;
            UpdateOwners(ProtocolTcp, port, _bindings[Key(ProtocolTcp, port)]);
            return 0;
        }
    }

    /// <summary>Removes <paramref name="owner"/>'s binding of <paramref name="port"/>.</summary>
    internal void Unbind(byte protocol, object owner, ushort port)
    {
        lock (_gate)
        {
            int key = Key(protocol, port);
            if (!_bindings.TryGetValue(key, out var list))
                return;
            for (int i = 0; i < list.Count; i++)
            {
                if (ReferenceEquals(list[i].Owner, owner))
                {
                    list.RemoveAt(i);
                    break;
                }
            }
            if (list.Count == 0)
                _bindings.Remove(key);
            UpdateOwners(protocol, port, list);
        }
    }

    /// <summary>
    /// Picks the local port of an active open from shard <paramref name="shard"/> (one that names the
    /// shard, bound by no socket, whose 4-tuple <paramref name="tupleFree"/> accepts) and counts the
    /// connection on it. 0 when the range is exhausted (the caller reports EADDRNOTAVAIL).
    /// </summary>
    internal ushort ReserveConnectPort(int shard, int first, int last, Random random, Func<ushort, bool> tupleFree)
    {
        lock (_gate)
        {
            ushort port = PickEphemeral(shard, first, last, random, p => !_bindings.ContainsKey(Key(ProtocolTcp, p)) && tupleFree(p));
            if (port != 0)
                _tcpConnections[port]++;
            return port;
        }
    }

    /// <summary>A TCP connection now uses local <paramref name="port"/> (passive opens, bound active opens).</summary>
    internal void AddConnection(ushort port)
    {
        lock (_gate)
            _tcpConnections[port]++;
    }

    /// <summary>A TCP connection on local <paramref name="port"/> is gone.</summary>
    internal void RemoveConnection(ushort port)
    {
        lock (_gate)
        {
            Debug.Assert(_tcpConnections[port] > 0);
            if (--_tcpConnections[port] == 0 && !_bindings.ContainsKey(Key(ProtocolTcp, port)))
                UpdateOwners(ProtocolTcp, port, null);
        }
    }

    private bool Conflicts(byte protocol, ushort port, Ipv4Address address, bool reuseAddress, bool reusePort, Binding? except)
    {
        if (!_bindings.TryGetValue(Key(protocol, port), out var list))
            return false;
        foreach (var other in list)
        {
            if (ReferenceEquals(other, except))
                continue;
            bool overlap = other.Address.IsAny || address.IsAny || other.Address == address;
            if (!overlap)
                continue;
            // Linux: SO_REUSEADDR on both shares the port unless the other one listens (so the first
            // of two such sockets may listen, the second may not).
            bool shared = (reuseAddress && other.ReuseAddress && (protocol != ProtocolTcp || !other.Listening))
                || (reusePort && other.ReusePort); // both in the port's SO_REUSEPORT group
            if (!shared)
                return true;
        }
        return false;
    }

    private Binding? Find(byte protocol, ushort port, object owner)
    {
        if (_bindings.TryGetValue(Key(protocol, port), out var list))
            foreach (var b in list)
                if (ReferenceEquals(b.Owner, owner))
                    return b;
        return null;
    }

    private void UpdateOwners(byte protocol, ushort port, List<Binding>? list)
    {
        var table = protocol == ProtocolTcp ? _tcpOwners : _udpOwners;
        if (table is null)
            return;
        ulong mask = 0;
        if (list is { Count: > 0 } && protocol == ProtocolUdp && list[^1].ReusePort)
        {
            foreach (var b in list)
                mask |= b.ReusePort ? 1UL << b.Shard : 0; // a SO_REUSEPORT group: every member's shard serves the port
        }
        else if (list is { Count: > 0 } && protocol == ProtocolUdp)
            mask = 1UL << list[^1].Shard; // UDP sharers (SO_REUSEADDR): unicast goes to the newest, as on Linux
        else if (list is not null)
            foreach (var b in list)
                mask |= b.AllShards ? _allShards : 1UL << b.Shard;
        // Connections outlive their socket's binding (FIN_WAIT, TIME_WAIT, a closed listener's
        // children): keep steering their frames where they went until the last one is gone.
        if (mask == 0 && protocol == ProtocolTcp && _tcpConnections[port] > 0)
            return;
        Volatile.Write(ref table[port], mask);
    }

    /// <summary>A random start in the shard's residue class of the range, then a walk over it (RFC 6056 algorithm 1-like).</summary>
    private ushort PickEphemeral(int shard, int first, int last, Random random, Func<ushort, bool> free)
    {
        int n = ShardCount;
        int start = first + (((shard - first) % n) + n) % n; // first port of the range naming the shard
        if (start > last)
            return 0;
        int count = (last - start) / n + 1;
        int offset = random.Next(count);
        for (int i = 0; i < count; i++)
        {
            ushort port = (ushort)(start + (long)((offset + i) % count) * n);
            if (free(port))
                return port;
        }
        return 0;
    }

    /// <summary>The shard a frame to an unbound local port belongs to (the port names it).</summary>
    public int ShardOfPort(ushort port) => port % ShardCount;

    private static int Key(byte protocol, ushort port) => (protocol << 16) | port;
}
