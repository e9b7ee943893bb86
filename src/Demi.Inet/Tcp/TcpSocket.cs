using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

/// <summary>
/// One TCP socket of a <see cref="TcpLayer"/>: a listener or a connection (its TCB). The API is
/// non-blocking and returns errnos: operations that cannot complete now return EAGAIN and the
/// socket later reports <see cref="TcpEvents"/> to its <see cref="Observer"/> (or the caller polls).
/// All calls must come from the thread that drives the layer.
/// <para>
/// The engine is split by concern over several files in <c>Internal/</c>: handshake (connect,
/// listen, SYN processing), input (segment arrival), sender (output, Nagle, recovery), receiver
/// (reassembly, window, delayed ACK), and timers (retransmission, persist, keepalive, TIME_WAIT).
/// </para>
/// </summary>
public sealed partial class TcpSocket
{
    internal readonly TcpLayer Layer;

    private Ipv4Endpoint _local;
    private Ipv4Endpoint _remote;
    private bool _bound;
    private bool _registered;
    private ConnectionKey _key;
    private bool _userClosed;
    private bool _readShutdown;
    private int _error;
    private bool _errorReported;

    internal TcpSocket(TcpLayer layer, TcpSocket? listener)
    {
        Layer = layer;
        var config = layer.Config;
        SendBufferSize = config.SendBufferSize;
        ReceiveBufferSize = config.ReceiveBufferSize;
        CongestionAlgorithm = config.CongestionControl;
        KeepAliveIdleMicroseconds = config.KeepAliveIdleMicroseconds;
        KeepAliveIntervalMicroseconds = config.KeepAliveIntervalMicroseconds;
        KeepAliveProbes = config.KeepAliveProbes;
        if (listener is not null)
        {
            // An accepted connection inherits the listener's options, as on Linux.
            Listener = listener;
            NoDelay = listener.NoDelay;
            KeepAlive = listener.KeepAlive;
            KeepAliveIdleMicroseconds = listener.KeepAliveIdleMicroseconds;
            KeepAliveIntervalMicroseconds = listener.KeepAliveIntervalMicroseconds;
            KeepAliveProbes = listener.KeepAliveProbes;
            LingerEnabled = listener.LingerEnabled;
            LingerSeconds = listener.LingerSeconds;
            CongestionAlgorithm = listener.CongestionAlgorithm;
            SendBufferSize = listener.SendBufferSize;
            ReceiveBufferSize = listener.ReceiveBufferSize;
            Observer = listener.Observer;
        }
    }

    /// <summary>Current state.</summary>
    public TcpState State { get; private set; }

    /// <summary>Local address and port (port 0 until bound).</summary>
    public Ipv4Endpoint LocalEndpoint => _local;

    /// <summary>Peer address and port (default until connected).</summary>
    public Ipv4Endpoint RemoteEndpoint => _remote;

    /// <summary>The errno that ended the connection (ECONNREFUSED, ECONNRESET, ETIMEDOUT, ...), or 0.</summary>
    public int Error => _error;

    /// <summary>Receives this socket's events. Accepted sockets start with their listener's observer.</summary>
    public ITcpSocketObserver? Observer { get; set; }

    /// <summary>Free for the owner (e.g. the runtime's socket actor).</summary>
    public object? UserState { get; set; }

    /// <summary><c>TCP_NODELAY</c>: when true, Nagle's algorithm is off and small segments go out at once.</summary>
    public bool NoDelay { get; set; }

    /// <summary><c>SO_KEEPALIVE</c>.</summary>
    public bool KeepAlive
    {
        get => _keepAlive;
        set
        {
            _keepAlive = value;
            if (IsSynchronized)
            {
                ArmKeepAlive(Layer.Now);
                Layer.Schedule(this);
            }
        }
    }

    private bool _keepAlive;

    /// <summary>Idle time before the first keepalive probe (<c>TCP_KEEPIDLE</c>), microseconds.</summary>
    public long KeepAliveIdleMicroseconds { get; set; }

    /// <summary>Time between keepalive probes (<c>TCP_KEEPINTVL</c>), microseconds.</summary>
    public long KeepAliveIntervalMicroseconds { get; set; }

    /// <summary>Unanswered probes before the connection fails with ETIMEDOUT (<c>TCP_KEEPCNT</c>).</summary>
    public int KeepAliveProbes { get; set; }

    /// <summary><c>SO_LINGER</c> l_onoff. With <see cref="LingerSeconds"/> 0, close aborts with RST; otherwise a close that has not finished within the time aborts.</summary>
    public bool LingerEnabled { get; set; }

    /// <summary><c>SO_LINGER</c> l_linger in seconds.</summary>
    public int LingerSeconds { get; set; }

    /// <summary><c>SO_REUSEADDR</c>: bind even when connections (e.g. in TIME_WAIT) still use the port.</summary>
    public bool ReuseAddress { get; set; }

    /// <summary>Send buffer bound in bytes (<c>SO_SNDBUF</c>); pushes beyond it return EAGAIN until ACKs free space.</summary>
    public int SendBufferSize
    {
        get => _sendBufferSize;
        set => _sendBufferSize = Math.Max(value, 2048);
    }

    private int _sendBufferSize;

    /// <summary>Receive buffer in bytes (<c>SO_RCVBUF</c>), the largest window advertised; set before connecting.</summary>
    public int ReceiveBufferSize
    {
        get => _receiveBufferSize;
        set => _receiveBufferSize = Math.Max(value, 2048);
    }

    private int _receiveBufferSize;

    /// <summary>Congestion control (<c>TCP_CONGESTION</c>): CUBIC (default) or NewReno. May change at any time.</summary>
    public TcpCongestionAlgorithm CongestionAlgorithm
    {
        get => _ccAlgorithm;
        set
        {
            if (_cc is not null && value != _ccAlgorithm)
            {
                var next = CreateCongestionControl(value);
                next.Init(SendMss);
                next.Cwnd = _cc.Cwnd;
                next.Ssthresh = _cc.Ssthresh;
                _cc = next;
            }
            _ccAlgorithm = value;
        }
    }

    private TcpCongestionAlgorithm _ccAlgorithm;

    /// <summary>Bytes the send buffer can still take.</summary>
    public long SendSpace => Math.Max(0, SendBufferSize - (_sendQ?.Bytes ?? 0));

    /// <summary>Bytes received in order and not yet read.</summary>
    public long ReadableBytes => _rcvQ?.Bytes ?? 0;

    /// <summary>Whether <see cref="Receive(out PacketBuffer)"/> would return something other than EAGAIN.</summary>
    public bool IsReadable => ReadableBytes > 0 || _finReceived || _readShutdown || _error != 0;

    /// <summary>Congestion window in bytes (0 when not connected).</summary>
    public long CongestionWindow => _cc?.Cwnd ?? 0;

    /// <summary>Smoothed RTT in microseconds.</summary>
    public long SmoothedRttMicroseconds => _rtt.Srtt;

    /// <summary>Current retransmission timeout in microseconds.</summary>
    public long RetransmitTimeoutMicroseconds => _rtt.Rto;

    /// <summary>Segments this connection retransmitted.</summary>
    public long Retransmissions { get; private set; }

    /// <summary>The peer's MSS as negotiated (payload bytes per segment, options excluded).</summary>
    public int SendMss => _sndMss;

    internal TcpSocket? Listener { get; private set; }

    internal TcpEvents PendingEvents;

    internal long ScheduledAt = long.MaxValue;

    private bool IsSynchronized => State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2
        or TcpState.CloseWait or TcpState.Closing or TcpState.LastAck;

    /// <summary>Binds to a local endpoint: the stack's address or 0.0.0.0, port 0 for a random ephemeral port. EADDRINUSE, EADDRNOTAVAIL, EINVAL.</summary>
    public int Bind(Ipv4Endpoint local)
    {
        if (_userClosed)
            return Errno.EBADF;
        if (_bound || State != TcpState.Closed || _registered)
            return Errno.EINVAL;
        int rc = Layer.Bind(this, ref local);
        if (rc != 0)
            return rc;
        _local = local;
        _bound = true;
        return 0;
    }

    /// <summary>Starts listening with a bounded backlog (half-open and accept-ready connections each at most backlog). Binds to a random port if unbound.</summary>
    public int Listen(int backlog)
    {
        if (_userClosed)
            return Errno.EBADF;
        if (State == TcpState.Listen)
        {
            _backlog = ClampBacklog(backlog);
            return 0;
        }
        if (State != TcpState.Closed || _registered)
            return Errno.EINVAL;
        if (!_bound)
        {
            int rc = Bind(new Ipv4Endpoint(Ipv4Address.Any, 0));
            if (rc != 0)
                return rc;
        }
        if (!IsReplica)
        {
            int rc = Layer.StartListening(this, _local.Port);
            if (rc != 0)
                return rc;
        }
        _backlog = ClampBacklog(backlog);
        _acceptQueue ??= new Queue<TcpSocket>();
        State = TcpState.Listen;
        return 0;
    }

    /// <summary>
    /// Makes this unbound socket a replica of <paramref name="primary"/>, a listener of another shard
    /// of the same libOS: it listens on the same endpoint in this layer (the port space already holds
    /// the primary's binding, so it takes none) and inherits the primary's options. Shard thread only;
    /// the primary's options are read as they were when it started listening.
    /// </summary>
    internal int ListenReplica(TcpSocket primary, Ipv4Endpoint local, int backlog)
    {
        if (_userClosed || _bound || State != TcpState.Closed)
            return Errno.EINVAL;
        IsReplica = true;
        NoDelay = primary.NoDelay;
        KeepAlive = primary.KeepAlive;
        KeepAliveIdleMicroseconds = primary.KeepAliveIdleMicroseconds;
        KeepAliveIntervalMicroseconds = primary.KeepAliveIntervalMicroseconds;
        KeepAliveProbes = primary.KeepAliveProbes;
        LingerEnabled = primary.LingerEnabled;
        LingerSeconds = primary.LingerSeconds;
        CongestionAlgorithm = primary.CongestionAlgorithm;
        SendBufferSize = primary.SendBufferSize;
        ReceiveBufferSize = primary.ReceiveBufferSize;
        _local = local;
        _bound = true;
        Layer.AddLocal(this, local.Port);
        return Listen(backlog);
    }

    /// <summary>A listener on another shard's behalf (<see cref="ListenReplica"/>): its binding is the primary's.</summary>
    internal bool IsReplica { get; private set; }

    /// <summary>
    /// While set, a listener ignores SYNs (the peer retransmits): set while the listener's replicas on
    /// the other shards start, so that no connection is made before frames of the port are spread
    /// over every shard.
    /// </summary>
    internal bool HoldSyns { get; set; }

    private int ClampBacklog(int backlog) => Math.Clamp(backlog <= 0 ? 1 : backlog, 1, Layer.Config.MaxBacklog);

    /// <summary>Takes an established connection from the accept queue: 0, or EAGAIN (none yet), EINVAL (not listening), EBADF.</summary>
    public int Accept(out TcpSocket? connection)
    {
        connection = null;
        if (_userClosed)
            return Errno.EBADF;
        if (State != TcpState.Listen)
            return Errno.EINVAL;
        if (_acceptQueue is null || _acceptQueue.Count == 0)
            return Errno.EAGAIN;
        connection = _acceptQueue.Dequeue();
        connection.Listener = null;
        Layer.OpenSockets++;
        return 0;
    }

    /// <summary>Connections waiting in the accept queue.</summary>
    public int AcceptQueueLength => _acceptQueue?.Count ?? 0;

    /// <summary>
    /// Starts an active open. Returns 0 when the SYN is on its way (completion is reported as
    /// <see cref="TcpEvents.Connected"/> or <see cref="TcpEvents.Error"/>), or EISCONN, EALREADY,
    /// EINVAL, EADDRNOTAVAIL, EBADF.
    /// </summary>
    public int Connect(Ipv4Endpoint remote)
    {
        if (_userClosed)
            return Errno.EBADF;
        if (State == TcpState.SynSent)
            return Errno.EALREADY;
        if (State == TcpState.Listen)
            return Errno.EINVAL;
        if (State != TcpState.Closed || _registered)
            return Errno.EISCONN;
        if (remote.Address.IsAny || remote.Address.IsBroadcast || remote.Address.IsMulticast || remote.Port == 0)
            return Errno.EINVAL;
        return StartConnect(remote);
    }

    /// <summary>
    /// Queues <paramref name="data"/> for sending and takes over the caller's reference on its buffer
    /// (held until the bytes are acknowledged). Returns 0 when accepted, EAGAIN when the send buffer
    /// is full (retry on <see cref="TcpEvents.Writable"/>), EPIPE after shutdown, ENOTCONN, EINVAL for
    /// an empty window, or the connection's error.
    /// </summary>
    public int Send(PacketBuffer data)
    {
        int rc = CheckSend();
        if (rc != 0)
            return rc;
        if (data.Length <= 0 || data.IsEmpty)
            return Errno.EINVAL;
        if (_sendQ!.Bytes >= SendBufferSize)
        {
            _writeBlocked = true;
            return Errno.EAGAIN;
        }
        _sendQ.Enqueue(data);
        if (IsSynchronized)
        {
            Output();
            Layer.Schedule(this);
        }
        return 0;
    }

    /// <summary>Copies as much of <paramref name="data"/> as the send buffer takes into pool buffers; <paramref name="accepted"/> says how much. EAGAIN when nothing fit.</summary>
    public int Send(ReadOnlySpan<byte> data, out int accepted)
    {
        accepted = 0;
        int rc = CheckSend();
        if (rc != 0)
            return rc;
        if (data.IsEmpty)
            return Errno.EINVAL;
        // One segment's payload per buffer, so that each goes out zero-copy (headers in its headroom).
        int chunkSize = Math.Min(Layer.Ip.Pool.Capacity, _sndMss > 0 ? _sndMss : 536);
        while (accepted < data.Length && _sendQ!.Bytes < SendBufferSize)
        {
            if (!PacketBuffer.TryRent(Layer.Ip.Pool, out var buffer))
                break;
            int n = Math.Min(Math.Min(chunkSize, buffer.TailroomLeft), data.Length - accepted);
            data.Slice(accepted, n).CopyTo(buffer.Append(n));
            _sendQ.Enqueue(buffer);
            accepted += n;
        }
        if (accepted == 0)
        {
            _writeBlocked = true;
            return Errno.EAGAIN;
        }
        if (accepted < data.Length)
            _writeBlocked = true;
        if (IsSynchronized)
        {
            Output();
            Layer.Schedule(this);
        }
        return 0;
    }

    private int CheckSend()
    {
        if (_userClosed)
            return Errno.EBADF;
        if (_error != 0)
            return _error;
        if (_finQueued || State is TcpState.FinWait1 or TcpState.FinWait2 or TcpState.Closing or TcpState.LastAck or TcpState.TimeWait)
            return Errno.EPIPE;
        if (State is TcpState.Closed or TcpState.Listen || _sendQ is null)
            return Errno.ENOTCONN;
        return 0;
    }

    /// <summary>
    /// Takes the next in-order received payload and the reference on its buffer (release it when done).
    /// Returns 0 with data; 0 with an empty <paramref name="data"/> (Length 0) at end of stream;
    /// EAGAIN when nothing is there yet; the connection's error (ECONNRESET, ETIMEDOUT); ENOTCONN; EBADF.
    /// </summary>
    public int Receive(out PacketBuffer data)
    {
        data = default;
        if (_userClosed)
            return Errno.EBADF;
        if (!_readShutdown && _rcvQ is not null && _rcvQ.TryDequeue(out data))
        {
            OnDataRead();
            return 0;
        }
        if (_readShutdown || _finReceived)
            return 0;
        if (_error != 0)
            return _error;
        if (State is TcpState.Closed or TcpState.Listen)
            return Errno.ENOTCONN;
        return Errno.EAGAIN;
    }

    /// <summary>Copies received bytes into <paramref name="destination"/>; <paramref name="read"/> 0 with return 0 means end of stream. Errors as <see cref="Receive(out PacketBuffer)"/>.</summary>
    public int Receive(Span<byte> destination, out int read)
    {
        read = 0;
        if (_userClosed)
            return Errno.EBADF;
        if (!_readShutdown && _rcvQ is not null && _rcvQ.Bytes > 0)
        {
            read = _rcvQ.Read(destination);
            OnDataRead();
            return 0;
        }
        if (_readShutdown || _finReceived)
            return 0;
        if (_error != 0)
            return _error;
        if (State is TcpState.Closed or TcpState.Listen)
            return Errno.ENOTCONN;
        return Errno.EAGAIN;
    }

    /// <summary>
    /// Half-closes: Write sends FIN after queued data (the peer's reads end); Read makes reads
    /// return end of stream and discards what arrives. ENOTCONN when not connected.
    /// </summary>
    public int Shutdown(TcpShutdown how)
    {
        if (_userClosed)
            return Errno.EBADF;
        if (State is TcpState.Closed or TcpState.Listen)
            return Errno.ENOTCONN;
        if (how is TcpShutdown.Read or TcpShutdown.Both)
        {
            _readShutdown = true;
            _rcvQ?.Clear();
            Layer.Raise(this, TcpEvents.Readable);
        }
        if (how is TcpShutdown.Write or TcpShutdown.Both)
            QueueFin();
        Layer.Schedule(this);
        return 0;
    }

    /// <summary>
    /// Closes the socket: the connection finishes in the background (FIN after queued data, then
    /// TIME_WAIT), or is reset when unread data is discarded or linger is on with 0 seconds. A
    /// listener resets its pending connections. The socket must not be used afterwards (EBADF).
    /// </summary>
    public int Close()
    {
        if (_userClosed)
            return Errno.EBADF;
        _userClosed = true;
        Layer.OpenSockets--;
        Observer = null;
        switch (State)
        {
            case TcpState.Closed:
                Release();
                break;
            case TcpState.Listen:
                CloseListener();
                break;
            case TcpState.SynSent:
                EnterClosed(0);
                break;
            default:
                if (State is TcpState.TimeWait)
                {
                    _rcvQ?.Clear();
                    break;
                }
                bool unread = _rcvQ is not null && _rcvQ.Bytes > 0;
                _rcvQ?.Clear();
                if ((LingerEnabled && LingerSeconds == 0) || unread)
                {
                    // RFC 2525 §2.17: closing with unread data resets; SO_LINGER 0 aborts.
                    Abort(0);
                    break;
                }
                QueueFin();
                if (LingerEnabled)
                    _lingerDeadline = Layer.Now + LingerSeconds * 1_000_000L;
                if (State == TcpState.FinWait2)
                    _closeDeadline = Layer.Now + Layer.Config.FinWait2TimeoutMicroseconds;
                break;
        }
        if (_registered)
            Layer.Schedule(this);
        Layer.DispatchEvents();
        return 0;
    }

    /// <summary>Aborts the connection at once: sends RST (when synchronized) and drops all data (ECONNABORTED for the owner).</summary>
    public void Abort()
    {
        if (State == TcpState.Listen)
        {
            CloseListener();
            return;
        }
        Abort(0);
        Layer.DispatchEvents();
    }

    private void RaiseError(int errno)
    {
        if (errno != 0 && _error == 0)
        {
            _error = errno;
            _errorReported = false;
        }
        if (_error != 0 && !_errorReported)
        {
            _errorReported = true;
            Layer.Raise(this, TcpEvents.Error | TcpEvents.Readable | TcpEvents.Writable);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"tcp {_local} -> {_remote} {State}";

    /// <summary>The TCB's variables, for diagnostics.</summary>
    public string DebugState()
        => $"{this} una={_sndUna} nxt={_sndNxt} max={_sndMax} wnd={_sndWnd} cwnd={_cc?.Cwnd} sendq={_sendQ?.Bytes} rcvnxt={_rcvNxt} advedge={_rcvAdvEdge} rcvq={_rcvQ?.Bytes} ooo={_ooo?.Count} "
           + $"rec={_inRecovery} dup={_dupAcks} rtx@{_rtxDeadline} persist={_persist} delack@{_delackDeadline} ackNow={_ackNow} fin={_finQueued}/{_finAcked}/{_finReceived}";
}
