using Demi.Buffers;
using Demi.Inet.Headers;

namespace Demi.Inet.Internal;

/// <summary>UDP (RFC 768) for one stack: the port table, demultiplexing and the send path.</summary>
internal sealed class UdpLayer : IIpProtocolHandler
{
    private const int EphemeralFirst = 49152;
    private const int EphemeralCount = 65536 - EphemeralFirst;
    // Below Count / LowPoolFraction free buffers, a socket holding LowPoolQueueAllowance datagrams gets no more.
    private const int LowPoolFraction = 8;
    private const int LowPoolQueueAllowance = 4;

    private readonly InetStack _stack;
    private readonly InetCounters _counters;
    private readonly Dictionary<ushort, UdpSocket> _ports = new();
    private readonly Random _random;
    private readonly bool _checksumOffloadOption;
    private readonly int _queueLength;

    public UdpLayer(InetStack stack, InetStackOptions options, InetCounters counters)
    {
        _stack = stack;
        _counters = counters;
        _random = options.Seed is { } seed ? new Random(seed) : new Random();
        _checksumOffloadOption = options.UdpChecksumOffload;
        _queueLength = options.UdpReceiveQueueLength;
    }

    public byte Protocol => Ipv4Header.ProtocolUdp;

    public long NextDeadline => long.MaxValue;

    public int OnTimer(long nowMicroseconds) => 0;

    /// <summary>Ports with at least one bound socket.</summary>
    public int BoundCount => _ports.Count;

    public UdpSocket CreateSocket() => new(this, _queueLength);

    /// <summary>
    /// Binds in the libOS-wide port space (a port held by a socket of any shard is EADDRINUSE; port 0
    /// picks a random free ephemeral port naming this shard), then in this stack's demultiplexing table.
    /// </summary>
    public int Bind(UdpSocket socket, Ipv4Endpoint local)
    {
        if (socket.IsBound)
            return Errno.EINVAL;
        if (!local.Address.IsAny && local.Address != _stack.LocalAddress)
            return Errno.EADDRNOTAVAIL;
        int rc = _stack.Ports.Bind(PortSpace.ProtocolUdp, socket, local.Address, local.Port, _stack.PortShard, socket.ReuseAddress, socket.ReusePort,
            EphemeralFirst, EphemeralFirst + EphemeralCount - 1, _random, out ushort port);
        if (rc != 0)
            return rc;
        // Sockets sharing the port (SO_REUSEADDR on all of them) form a list, newest first: like Linux,
        // the newest of equally good matches gets a unicast datagram.
        if (_ports.TryGetValue(port, out var sharer))
            socket.NextOnPort = sharer;
        _ports[port] = socket;
        socket.LocalEndpoint = new Ipv4Endpoint(local.Address, port);
        return 0;
    }

    public void Unbind(UdpSocket socket)
    {
        if (!socket.IsBound || !_ports.TryGetValue(socket.LocalEndpoint.Port, out var head))
            return;
        ushort port = socket.LocalEndpoint.Port;
        if (head == socket)
        {
            if (socket.NextOnPort is { } next)
                _ports[port] = next;
            else
                _ports.Remove(port);
        }
        else
        {
            var previous = head;
            while (previous.NextOnPort is { } candidate && candidate != socket)
                previous = candidate;
            if (previous.NextOnPort != socket)
                return;
            previous.NextOnPort = socket.NextOnPort;
        }
        socket.NextOnPort = null;
        _stack.Ports.Unbind(PortSpace.ProtocolUdp, socket, port);
    }

    // The socket a datagram goes to (null: none), scored as Linux's compute_score: a connected socket
    // whose peer sent it beats a bound address, which beats the wildcard; the newest wins a tie.
    private UdpSocket? Lookup(ushort port, Ipv4Address source, ushort sourcePort, Ipv4Address destination)
    {
        if (!_ports.TryGetValue(port, out var socket))
            return null;
        if (socket.NextOnPort is null)
            return socket.Accepts(source, sourcePort, destination) ? socket : null;
        UdpSocket? best = null;
        int bestScore = -1;
        for (var candidate = socket; candidate is not null; candidate = candidate.NextOnPort)
        {
            if (!candidate.Accepts(source, sourcePort, destination))
                continue;
            int score = (candidate.RemoteEndpoint is null ? 0 : 2) + (candidate.LocalEndpoint.Address.IsAny ? 0 : 1);
            if (score > bestScore)
            {
                best = candidate;
                bestScore = score;
            }
        }
        return best;
    }

    public int CancelPending(UdpSocket socket) => _stack.CancelPending(socket);

    public int Send(UdpSocket socket, PacketBuffer payload, Ipv4Endpoint destination, ulong tag)
    {
        if (destination.Port == 0 || destination.Address.IsAny)
        {
            payload.Release();
            return Errno.EINVAL;
        }
        if (payload.Length + UdpHeader.HeaderLength + Ipv4Header.MinLength > _stack.Mtu)
        {
            payload.Release();
            return Errno.EMSGSIZE;
        }
        if (payload.HeadroomLeft < UdpHeader.HeaderLength + _stack.HeaderRoom)
        {
            payload.Release();
            return Errno.EINVAL;
        }
        if (!socket.IsBound)
        {
            int err = Bind(socket, new Ipv4Endpoint(Ipv4Address.Any, 0));
            if (err != 0)
            {
                payload.Release();
                return err;
            }
        }
        var source = _stack.LocalAddress;
        var header = new UdpHeader(socket.LocalEndpoint.Port, destination.Port, (ushort)(payload.Length + UdpHeader.HeaderLength), 0);
        var datagram = payload.WithFront(UdpHeader.HeaderLength);
        header.Write(datagram.Span, source, destination.Address, computeChecksum: !TxOffloaded);
        int result = _stack.SendIp(destination.Address, Ipv4Header.ProtocolUdp, datagram, socket, tag);
        if (result is 0 or UdpSocket.Pending)
            _counters.UdpDatagramsSentCount++;
        return result;
    }

    private bool TxOffloaded => _checksumOffloadOption || (_stack.NicOffloads & Nic.NicOffloads.TxChecksum) != 0;

    /// <summary>An ICMP error about a datagram sent from <paramref name="localPort"/> to <paramref name="remote"/>: only a socket connected there hears it (as Linux does).</summary>
    public bool OnIcmpError(ushort localPort, Ipv4Endpoint remote, int errno)
    {
        if (!_ports.TryGetValue(localPort, out var socket))
            return false;
        for (; socket is not null; socket = socket.NextOnPort)
        {
            if (socket.RemoteEndpoint == remote)
            {
                socket.ReportError(errno);
                return true;
            }
        }
        return false;
    }

    public void Receive(Ipv4Address source, Ipv4Address destination, PacketBuffer segment, bool checksumVerified)
    {
        bool verify = !checksumVerified && !_checksumOffloadOption;
        var reason = UdpHeader.TryRead(segment.Span, source, destination, verify, out var header);
        if (reason != DropReason.None)
        {
            _stack.Drop(segment, reason);
            return;
        }
        var socket = Lookup(header.DestinationPort, source, header.SourcePort, destination);
        if (socket is null)
        {
            // RFC 1122 §4.1.3.1: tell the sender (a connected kernel socket then sees ECONNREFUSED).
            _stack.SendDestinationUnreachable(segment, source, destination, Headers.IcmpHeader.CodePortUnreachable);
            _stack.Drop(segment, DropReason.UdpNoSocket);
            return;
        }
        // Degrade instead of deadlocking when unread datagrams pin most of the pool (DESIGN: a pool that
        // runs low must degrade): below the low-water mark only sockets with short queues get more.
        var pool = segment.Pool;
        if (socket.Available >= LowPoolQueueAllowance && pool.Available < pool.Count / LowPoolFraction)
        {
            _stack.Drop(segment, DropReason.PoolLow);
            return;
        }
        // The datagram without padding, as a new value (see PacketBuffer.Slice).
        var datagram = segment.Slice(UdpHeader.HeaderLength, header.Length - UdpHeader.HeaderLength);
        // The socket's queue keeps it (or Drop releases it): ours from here, also if an observer throws.
        _stack.TakeReceived(datagram);
        if (!socket.Enqueue(datagram, new Ipv4Endpoint(source, header.SourcePort)))
        {
            _stack.Drop(datagram, DropReason.UdpReceiveQueueFull);
            return;
        }
        _counters.UdpDatagramsReceivedCount++;
    }
}
