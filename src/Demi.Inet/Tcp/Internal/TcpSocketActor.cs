using Demi.Buffers;
using Demi.Runtime;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// A SOCK_STREAM queue descriptor on the user-space stack: the runtime's actor in front of a
/// <see cref="TcpSocket"/> of its shard's <see cref="TcpLayer"/>. Pending accepts, connects, pushes
/// and pops wait in FIFO queues and are completed from the socket's events. A push of a pool
/// buffer is zero-copy: its reference moves into the send queue (held until acknowledged) and
/// the push completes as soon as the bytes are accepted there. Runs only on the shard thread.
/// </summary>
internal sealed class TcpSocketActor : SocketActor, ITcpSocketObserver
{
    private readonly Queue<ulong> _pendingAccepts = new();
    private readonly Queue<ulong> _pendingPops = new(16);
    private readonly Queue<PushRequest> _pendingPushes = new(16);
    // Bytes of the head push already copied into the send buffer (buffers outside the pool, or copy mode).
    private int _headOffset;
    // Bytes of the pushes in _pendingPushes (the head's included, whatever of it was copied).
    private long _pendingPushBytes;
    private TcpSocket? _socket;

    /// <inheritdoc />
    protected internal override bool HasUnsentData
        => _pendingPushes.Count > 0 || (_socket is { } socket && socket.SendSpace < socket.SendBufferSize);
    // A connect in progress (its qt may be 0: fire-and-forget operations take no token).
    private bool _connecting;
    private ulong _connectQt;
    private bool _endOfStreamDelivered;
    // A listener on several shards: its replicas, and the connections they handed over not yet accepted.
    private TcpListenerGroup? _group;
    private Queue<(int Qd, Ipv4Endpoint Peer)>? _handedOver;

    public TcpSocketActor(Shard shard, TcpSocket? accepted)
        : base(shard, SocketConstants.SOCK_STREAM)
    {
        _socket = accepted;
    }

    protected internal override void OnAttached()
    {
        if (_socket is null)
        {
            var layer = TcpTransport.LayerOf(Shard) ?? throw new InvalidOperationException("The shard has no TCP layer.");
            _socket = layer.CreateSocket();
        }
        _socket.Observer = this;
        _socket.UserState = this;
    }

    public void OnTcpEvents(TcpSocket socket, TcpEvents events)
    {
        // Connections not yet accepted inherit the listener's observer: their events wait for accept.
        if (!ReferenceEquals(socket, _socket) || IsClosed)
            return;
        if ((events & TcpEvents.Accept) != 0)
            DrainAccepts();
        if (_connecting && (events & (TcpEvents.Connected | TcpEvents.Error | TcpEvents.Closed)) != 0)
        {
            ulong qt = _connectQt;
            _connecting = false;
            _connectQt = 0;
            if (socket.State is TcpState.Established or TcpState.CloseWait)
                CompleteConnect(qt);
            else
                Fail(qt, socket.Error != 0 ? socket.Error : Errno.ECONNREFUSED);
        }
        if ((events & (TcpEvents.Writable | TcpEvents.Error | TcpEvents.Closed)) != 0)
            DrainPushes();
        if ((events & (TcpEvents.Readable | TcpEvents.Error | TcpEvents.Closed)) != 0)
            DrainPops();
    }

    protected internal override int Bind(Ipv4Endpoint local) => _socket!.Bind(local);

    protected internal override int Listen(int backlog)
    {
        if (_socket!.State == TcpState.Listen)
            return Errno.EADDRINUSE;
        if (_socket.LocalEndpoint.Port == 0)
            return Errno.EDESTADDRREQ; // Demikernel requires a bind before listen
        var drivers = TcpListenerGroup.DriversOf(LibOS);
        if (drivers is null)
            return _socket.Listen(backlog);
        // Listen on every shard: SYNs are held until every replica listens and the port's frames are
        // spread over all shards, so no connection is made on a shard its later segments do not reach.
        _socket.HoldSyns = true;
        int rc = _socket.Listen(backlog);
        if (rc == 0)
        {
            rc = TcpListenerGroup.Start(this, drivers, _socket, backlog, out _group);
            if (rc == 0)
                rc = _socket.Layer.Ports.Listen(_socket, _socket.LocalEndpoint.Port, allShards: true);
            if (rc != 0)
            {
                _group?.Close();
                _group = null;
                _socket.Abort(); // back to an unbound, closed socket: listening failed
            }
        }
        _socket.HoldSyns = false;
        return rc;
    }

    /// <summary>A replica on another shard handed over an established connection (already descriptor <paramref name="qd"/>).</summary>
    internal void OnConnectionHandedOver(int qd, Ipv4Endpoint peer)
    {
        (_handedOver ??= new Queue<(int, Ipv4Endpoint)>()).Enqueue((qd, peer));
        DrainAccepts();
    }

    protected internal override void OnAccept(ulong qt)
    {
        if (_socket!.State != TcpState.Listen)
        {
            Fail(qt, Errno.EINVAL);
            return;
        }
        _pendingAccepts.Enqueue(qt);
        DrainAccepts();
    }

    private void DrainAccepts()
    {
        while (_pendingAccepts.Count > 0)
        {
            if (_handedOver is { Count: > 0 })
            {
                var (handedQd, peer) = _handedOver.Dequeue();
                _group!.Taken();
                CompleteAccept(_pendingAccepts.Dequeue(), handedQd, peer);
                continue;
            }
            int rc = _socket!.Accept(out var connection);
            if (rc == Errno.EAGAIN)
                return;
            ulong qt = _pendingAccepts.Dequeue();
            if (rc != 0)
            {
                Fail(qt, rc);
                continue;
            }
            // The connection stays on this shard: its TCB lives in this shard's layer.
            var actor = new TcpSocketActor(Shard, connection);
            int qd = RegisterAccepted(actor);
            if (qd < 0)
            {
                connection!.Abort();
                connection.Close();
                Fail(qt, Errno.EMFILE);
                continue;
            }
            CompleteAccept(qt, qd, connection!.RemoteEndpoint);
        }
    }

    protected internal override void OnConnect(ulong qt, Ipv4Endpoint remote)
    {
        if (_connecting)
        {
            Fail(qt, Errno.EALREADY);
            return;
        }
        int rc = _socket!.Connect(remote);
        if (rc != 0)
        {
            Fail(qt, rc);
            return;
        }
        _connecting = true;
        _connectQt = qt;
    }

    protected internal override int GetPeerName(out Ipv4Endpoint peer)
    {
        peer = _socket!.RemoteEndpoint;
        return _socket.State is TcpState.Closed or TcpState.Listen or TcpState.SynSent ? Errno.ENOTCONN : 0;
    }

    protected internal override int GetSockName(out Ipv4Endpoint local)
    {
        local = _socket!.LocalEndpoint;
        return 0;
    }

    protected internal override void OnPush(in PushRequest request)
    {
        var socket = _socket!;
        if (socket.State is TcpState.Closed or TcpState.Listen && socket.Error == 0)
        {
            CompletePush(request, Errno.ENOTCONN);
            return;
        }
        if (_pendingPushes.Count > 0 && MustRefuse(socket, request.Sga.Span.Length))
        {
            // Backpressure: the send buffer is full and pushes already wait behind it. Queueing more would
            // pin pool frames without bound (the frames the NIC needs to receive the ACKs that would free
            // them): the push fails at once with ENOBUFS, naming its sga, and the app may retry later.
            socket.Layer.Statistics.PushesRefused++;
            CompletePush(request, Errno.ENOBUFS);
            return;
        }
        _pendingPushes.Enqueue(request);
        _pendingPushBytes += request.Sga.Span.Length;
        if (_pendingPushes.Count == 1)
            DrainPushes();
    }

    /// <summary>
    /// Whether a push of <paramref name="length"/> bytes must be refused: the pushes waiting for the send
    /// buffer already hold a send buffer's worth, or the pool the NIC receives into runs low.
    /// </summary>
    private bool MustRefuse(TcpSocket socket, int length)
    {
        if (_pendingPushBytes - _headOffset + length > socket.SendBufferSize)
            return true;
        var pool = socket.Layer.Ip.Pool;
        return pool.Available < pool.Count / LowPoolFraction;
    }

    // The pool is "low" below this fraction of its frames (as for UDP receive queues).
    private const int LowPoolFraction = 8;

    /// <summary>Moves pending pushes into the send buffer in order, completing each once all its bytes are in.</summary>
    private void DrainPushes()
    {
        var socket = _socket!;
        while (_pendingPushes.TryPeek(out var request))
        {
            var sga = request.Sga;
            int rc;
            if (_headOffset == 0 && !socket.Layer.Config.CopyOnPush && request.Buffer.TryGetPacket(sga, out var packet))
            {
                // Zero-copy: the push's reference moves into the send queue.
                rc = socket.Send(packet);
                if (rc == Errno.EAGAIN)
                    return;
                DequeueHead();
                if (rc != 0)
                    CompletePush(request, rc); // Send did not take the reference: CompletePush releases it and names the sga
                else
                    Complete(new QResult { Opcode = Opcode.Push, Qd = Qd, Qt = request.Qt, Sga = sga });
                continue;
            }
            // A large (non-pool) buffer, or copy mode: copy as much as the send buffer takes.
            rc = socket.Send(sga.Span[_headOffset..], out int accepted);
            if (rc == Errno.EAGAIN)
                return;
            if (rc != 0)
            {
                DequeueHead();
                CompletePush(request, rc);
                continue;
            }
            _headOffset += accepted;
            if (_headOffset < sga.Span.Length)
                return; // the rest goes when the send buffer drains
            DequeueHead();
            CompletePush(request);
        }
    }

    private void DequeueHead()
    {
        var head = _pendingPushes.Dequeue();
        _pendingPushBytes -= head.Sga.Span.Length;
        _headOffset = 0;
    }

    protected internal override void OnPop(ulong qt)
    {
        if (_pendingPops.Count == 0 && TryDeliver(qt, queued: false))
            return;
        _pendingPops.Enqueue(qt);
    }

    private void DrainPops()
    {
        while (_pendingPops.TryPeek(out var qt) && TryDeliver(qt, queued: true))
        {
        }
    }

    /// <summary>
    /// Completes pop <paramref name="qt"/> if there is something to deliver. A queued pop leaves the
    /// queue before it completes: its completion handler may pop again or close the socket (which
    /// empties the queue), so nothing may touch the queue after the completion.
    /// </summary>
    private bool TryDeliver(ulong qt, bool queued)
    {
        var socket = _socket!;
        if (_endOfStreamDelivered)
        {
            if (queued)
                _pendingPops.Dequeue();
            return DeliverEndOfStream(qt);
        }
        int rc = socket.Receive(out var data);
        if (rc == Errno.EAGAIN)
            return false;
        if (queued)
            _pendingPops.Dequeue();
        if (rc != 0)
        {
            Fail(qt, rc);
            return true;
        }
        if (data.Length == 0)
        {
            _endOfStreamDelivered = true;
            return DeliverEndOfStream(qt);
        }
        var buffers = LibOS.Buffers;
        if (data.Pool == buffers.Pool)
        {
            // The received frame becomes the app's buffer: no copy.
            CompletePop(qt, data);
            return true;
        }
        var sga = buffers.Allocate(data.Length);
        if (!sga.IsAllocated)
        {
            data.Release();
            Fail(qt, Errno.ENOMEM);
            return true;
        }
        data.Span.CopyTo(sga.Span);
        sga.Segment.Length = (uint)data.Length;
        data.Release();
        CompletePop(qt, sga);
        return true;
    }

    /// <summary>End of stream is a pop with a zero-length segment (every later pop too).</summary>
    private bool DeliverEndOfStream(ulong qt)
    {
        var sga = LibOS.Buffers.Allocate(1);
        if (!sga.IsAllocated)
        {
            Fail(qt, Errno.ENOMEM);
            return true;
        }
        sga.Segment.Length = 0;
        CompletePop(qt, sga);
        return true;
    }

    protected internal override int SetOption(int level, int name, ReadOnlySpan<byte> value)
    {
        var socket = _socket!;
        switch (level, name)
        {
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER):
                if (value.Length < 8)
                    return Errno.EINVAL;
                socket.LingerEnabled = BitConverter.ToInt32(value) != 0;
                socket.LingerSeconds = Math.Max(0, BitConverter.ToInt32(value[4..]));
                return 0;
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE):
                if (value.Length < 4)
                    return Errno.EINVAL;
                socket.KeepAlive = BitConverter.ToInt32(value) != 0;
                return 0;
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR):
                if (value.Length < 4)
                    return Errno.EINVAL;
                socket.ReuseAddress = BitConverter.ToInt32(value) != 0;
                return 0;
            case (SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY):
                if (value.Length < 4)
                    return Errno.EINVAL;
                socket.NoDelay = BitConverter.ToInt32(value) != 0;
                return 0;
            case (SocketConstants.IPPROTO_TCP, TcpCongestionOption):
                // TCP_CONGESTION takes the algorithm's name, as on Linux.
                var text = System.Text.Encoding.ASCII.GetString(value).TrimEnd('\0');
                if (text.Equals("cubic", StringComparison.OrdinalIgnoreCase))
                    socket.CongestionAlgorithm = TcpCongestionAlgorithm.Cubic;
                else if (text.Equals("reno", StringComparison.OrdinalIgnoreCase) || text.Equals("newreno", StringComparison.OrdinalIgnoreCase))
                    socket.CongestionAlgorithm = TcpCongestionAlgorithm.NewReno;
                else
                    return Errno.ENOENT;
                return 0;
            default:
                return Errno.ENOPROTOOPT;
        }
    }

    /// <summary>Linux's TCP_CONGESTION option number.</summary>
    private const int TcpCongestionOption = 13;

    protected internal override int GetOption(int level, int name, Span<byte> value, out int length)
    {
        length = 0;
        var socket = _socket!;
        int intValue;
        switch (level, name)
        {
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER):
                if (value.Length < 8)
                    return Errno.EINVAL;
                BitConverter.TryWriteBytes(value, socket.LingerEnabled ? 1 : 0);
                BitConverter.TryWriteBytes(value[4..], socket.LingerSeconds);
                length = 8;
                return 0;
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE):
                intValue = socket.KeepAlive ? 1 : 0;
                break;
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR):
                intValue = socket.ReuseAddress ? 1 : 0;
                break;
            case (SocketConstants.SOL_SOCKET, SocketConstants.SO_ERROR):
                intValue = socket.Error;
                break;
            case (SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY):
                intValue = socket.NoDelay ? 1 : 0;
                break;
            case (SocketConstants.IPPROTO_TCP, TcpCongestionOption):
                var name16 = socket.CongestionAlgorithm == TcpCongestionAlgorithm.Cubic ? "cubic"u8 : "reno"u8;
                if (value.Length < name16.Length)
                    return Errno.EINVAL;
                name16.CopyTo(value);
                length = name16.Length;
                return 0;
            default:
                return Errno.ENOPROTOOPT;
        }
        if (value.Length < 4)
            return Errno.EINVAL;
        BitConverter.TryWriteBytes(value, intValue);
        length = 4;
        return 0;
    }

    // After close the stack keeps sending and retransmitting until its FIN is acknowledged, then waits
    // for the peer's FIN (TIME_WAIT: both FINs exchanged, the peer's side closes cleanly instead of
    // waiting in LAST_ACK for an ACK from a process that is gone).
    protected internal override bool IsFinishing => _socket is { State: not (TcpState.Closed or TcpState.TimeWait) };

    // In FIN_WAIT_2 the peer has every byte and our FIN: nothing to reset, only its FIN never came.
    protected internal override bool OnDrainTimedOut()
    {
        if (_socket is not { State: not (TcpState.FinWait2 or TcpState.Closed or TcpState.TimeWait) } socket)
            return false;
        socket.Abort();
        return true;
    }

    protected internal override void OnClose()
    {
        while (_pendingAccepts.TryDequeue(out var qt))
            Fail(qt, Errno.ECANCELED);
        if (_group is { } group)
        {
            // Closing the listener closes it on every shard; connections handed over and never accepted close too.
            group.Close();
            while (_handedOver is { Count: > 0 })
            {
                LibOS.Close(_handedOver.Dequeue().Qd);
                group.Taken();
            }
            _group = null;
        }
        while (_pendingPops.TryDequeue(out var qt))
            Fail(qt, Errno.ECANCELED);
        while (_pendingPushes.TryDequeue(out var pending))
            CompletePush(pending, Errno.ECANCELED);
        _headOffset = 0;
        _pendingPushBytes = 0;
        if (_connecting)
        {
            Fail(_connectQt, Errno.ECANCELED);
            _connecting = false;
            _connectQt = 0;
        }
        if (_socket is { } socket)
        {
            socket.Observer = null;
            socket.Close();
        }
    }
}
