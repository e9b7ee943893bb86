using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

/// <summary>
/// One TCP socket of a <see cref="TcpLayer"/>: a listener or a connection (its TCB). The API is
/// non-blocking and returns errnos: operations that cannot complete now return EAGAIN and the
/// socket later reports <see cref="TcpEvents"/> to its <see cref="Observer"/> (or the caller polls).
/// All calls must come from the thread that drives the layer.
/// <para>
/// The socket is the connection's state machine (RFC 9293 §3.10: the user calls, segment arrival,
/// the state transitions and their timers). The engine is split by concern into types of their own
/// in <c>Internal/</c>, each behind a narrow interface this socket implements:
/// <see cref="TcpSender"/> (ACK processing, output, Nagle, recovery, the retransmission timer),
/// <see cref="TcpReceiver"/> (acceptance, reassembly, window, delayed ACK), <see cref="TcpTimers"/>
/// (the deadlines and the order they fire in), and <see cref="TcpHandshake"/> /
/// <see cref="TcpBacklog"/> (SYN options, listener backlog).
/// </para>
/// </summary>
public sealed class TcpSocket : ITcpSenderHost, ITcpReceiverHost, ITcpTimerHandler
{
    /// <summary>PAWS: TS.Recent older than 24 days is no longer trusted (RFC 7323 §5.5).</summary>
    private const long PawsIdleMicroseconds = 24L * 24 * 3600 * 1_000_000;

    private const long MicrosecondsPerSecond = 1_000_000;

    /// <summary>Smallest send or receive buffer a socket option can set.</summary>
    private const int MinBufferSize = 2048;

    internal readonly TcpLayer Layer;
    private readonly TcpTimers _timers = new();

    // Created at connection setup (once per connection, not per segment); null for listeners and unconnected sockets.
    private TcpHandshake? _hs;
    private TcpSender? _snd;
    private TcpReceiver? _rcv;
    private TcpBacklog? _backlog;

    private uint _tsRecent;
    private long _tsRecentAge;
    private uint _tsOffset;
    private long _lastRecvTime;
    private int _keepaliveSent;

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
        set => _sendBufferSize = Math.Max(value, MinBufferSize);
    }

    private int _sendBufferSize;

    /// <summary>Receive buffer in bytes (<c>SO_RCVBUF</c>), the largest window advertised; set before connecting.</summary>
    public int ReceiveBufferSize
    {
        get => _receiveBufferSize;
        set => _receiveBufferSize = Math.Max(value, MinBufferSize);
    }

    private int _receiveBufferSize;

    /// <summary>Congestion control (<c>TCP_CONGESTION</c>): CUBIC (default) or NewReno. May change at any time.</summary>
    public TcpCongestionAlgorithm CongestionAlgorithm
    {
        get => _ccAlgorithm;
        set
        {
            if (value != _ccAlgorithm)
                _snd?.ChangeCongestionControl(value);
            _ccAlgorithm = value;
        }
    }

    private TcpCongestionAlgorithm _ccAlgorithm;

    /// <summary>Bytes the send buffer can still take.</summary>
    public long SendSpace => Math.Max(0, SendBufferSize - (_snd?.QueuedBytes ?? 0));

    /// <summary>Bytes received in order and not yet read.</summary>
    public long ReadableBytes => _rcv?.ReadableBytes ?? 0;

    /// <summary>Whether <see cref="Receive(out PacketBuffer)"/> would return something other than EAGAIN.</summary>
    public bool IsReadable => ReadableBytes > 0 || FinReceived || _readShutdown || _error != 0;

    /// <summary>Congestion window in bytes (0 when not connected).</summary>
    public long CongestionWindow => _snd?.Congestion?.Cwnd ?? 0;

    /// <summary>Smoothed RTT in microseconds.</summary>
    public long SmoothedRttMicroseconds => _snd?.Rtt.Srtt ?? 0;

    /// <summary>Current retransmission timeout in microseconds.</summary>
    public long RetransmitTimeoutMicroseconds => _snd?.Rtt.Rto ?? 0;

    /// <summary>Segments this connection retransmitted.</summary>
    public long Retransmissions => _snd?.Retransmissions ?? 0;

    /// <summary>The peer's MSS as negotiated (payload bytes per segment, options excluded).</summary>
    public int SendMss => _snd?.Mss ?? 0;

    private bool FinReceived => _rcv is not null && _rcv.FinReceived;

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
            _backlog!.Limit = ClampBacklog(backlog);
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
        _backlog ??= new TcpBacklog();
        _backlog.Limit = ClampBacklog(backlog);
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
        if (_backlog is null || !_backlog.TryDequeue(out connection))
            return Errno.EAGAIN;
        connection.Listener = null;
        Layer.OpenSockets++;
        return 0;
    }

    /// <summary>Connections waiting in the accept queue.</summary>
    public int AcceptQueueLength => _backlog?.ReadyCount ?? 0;

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
        if (!_snd!.TryEnqueue(data))
            return Errno.EAGAIN;
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
        var snd = _snd!;
        int chunkSize = Math.Min(Layer.Ip.Pool.Capacity, snd.Mss > 0 ? snd.Mss : TcpHandshake.DefaultPeerMss);
        accepted = snd.EnqueueCopy(Layer.Ip.Pool, data, chunkSize);
        if (accepted == 0)
            return Errno.EAGAIN;
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
        if (_snd is { FinQueued: true } || State is TcpState.FinWait1 or TcpState.FinWait2 or TcpState.Closing or TcpState.LastAck or TcpState.TimeWait)
            return Errno.EPIPE;
        if (State is TcpState.Closed or TcpState.Listen || _snd is null)
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
        if (!_readShutdown && _rcv is not null && _rcv.TryDequeue(out data))
        {
            OnDataRead();
            return 0;
        }
        if (_readShutdown || FinReceived)
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
        if (!_readShutdown && _rcv is not null && _rcv.ReadableBytes > 0)
        {
            read = _rcv.Read(destination);
            OnDataRead();
            return 0;
        }
        if (_readShutdown || FinReceived)
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
            _rcv?.ClearReadable();
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
                    _rcv?.ClearReadable();
                    break;
                }
                bool unread = _rcv is not null && _rcv.ReadableBytes > 0;
                _rcv?.ClearReadable();
                if ((LingerEnabled && LingerSeconds == 0) || unread)
                {
                    // RFC 2525 §2.17: closing with unread data resets; SO_LINGER 0 aborts.
                    Abort(0);
                    break;
                }
                QueueFin();
                if (LingerEnabled)
                    _timers.Arm(TcpTimer.Linger, Layer.Now + LingerSeconds * MicrosecondsPerSecond);
                if (State == TcpState.FinWait2)
                    _timers.Arm(TcpTimer.Close, Layer.Now + Layer.Config.FinWait2TimeoutMicroseconds);
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
        => $"{this} {_snd} {_rcv} rtx@{_timers.DeadlineOf(TcpTimer.Retransmit)} delack@{_timers.DeadlineOf(TcpTimer.DelayedAck)}";

    // ---- Connection setup (RFC 9293 §3.5) ----

    /// <summary>Creates the TCB's parts (once per connection, not per segment) and enters the connection table.</summary>
    private void InitConnection(ConnectionKey key, bool portCounted = false)
    {
        var config = Layer.Config;
        _key = key;
        _hs = new TcpHandshake(config);
        _snd = new TcpSender(this, _timers, Layer.Statistics, config.InitialRtoMicroseconds, config.MinRtoMicroseconds, config.MaxRtoMicroseconds);
        _rcv = new TcpReceiver(this, _timers, config, Layer.Statistics);
        _rcv.WindowScale = config.WindowScaling ? TcpHandshake.WindowScaleFor(ReceiveBufferSize) : 0;
        // Per host pair, not per connection (like Linux): timestamps stay monotonic across
        // incarnations of a 4-tuple, which lets a new SYN reopen TIME_WAIT (RFC 6191).
        _tsOffset = Layer.TimestampOffset(key);
        _hs.Iss = Layer.NextIsn(key);
        _snd.Start(_hs.Iss);
        _lastRecvTime = Layer.Now;
        Layer.Register(this, key, portCounted);
        _registered = true;
    }

    private int StartConnect(Ipv4Endpoint remote)
    {
        var localAddress = _bound && !_local.Address.IsAny ? _local.Address : Layer.Ip.LocalAddress;
        ushort port = _local.Port;
        bool counted = false;
        if (!_bound)
        {
            port = Layer.PickConnectPort(localAddress.Value, remote);
            if (port == 0)
                return Errno.EADDRNOTAVAIL; // the shard's share of the ephemeral range is exhausted
            counted = true;
        }
        var key = new ConnectionKey(localAddress.Value, port, remote.Address.Value, remote.Port);
        if (Layer.IsInUse(key))
        {
            if (counted)
                Layer.Ports.RemoveConnection(port);
            return Errno.EADDRNOTAVAIL;
        }
        _local = new Ipv4Endpoint(localAddress, port);
        _remote = remote;
        InitConnection(key, counted);
        State = TcpState.SynSent;
        Layer.Statistics.ActiveOpens++;
        _snd!.StartHandshakeTiming(Layer.Now);
        SendSyn(withAck: false);
        _snd.ArmRetransmit(Layer.Now);
        Layer.Schedule(this);
        return 0;
    }

    /// <summary>Takes the options of a received SYN (or SYN-ACK to our SYN) and derives the send MSS.</summary>
    private void TakeSynOptions(in TcpSegment seg)
    {
        var hs = _hs!;
        hs.TakeSynOptions(in seg);
        var snd = _snd!;
        snd.WindowScale = hs.SendWindowScale;
        snd.SackPermitted = hs.Sack;
        snd.Timestamps = hs.Timestamps;
        if (!hs.WindowScaling)
            _rcv!.WindowScale = 0;
        if (hs.Timestamps)
        {
            _tsRecent = seg.TsVal;
            _tsRecentAge = Layer.Now;
        }
        snd.SetMss(hs.SendMss(Layer.LocalMss), _ccAlgorithm);
    }

    private bool Timestamps => _snd is { Timestamps: true };

    private uint TsNow => (uint)(Layer.Now / 1000) + _tsOffset;

    /// <summary>Sends SYN (active open) or SYN-ACK (passive or simultaneous open) with our options.</summary>
    private void SendSyn(bool withAck)
    {
        if (!Layer.TryRentSegment(out var buffer))
            return;
        var rcv = _rcv!;
        if (!withAck && Layer.Config.WindowScaling)
            rcv.WindowScale = TcpHandshake.WindowScaleFor(ReceiveBufferSize);
        ushort window = (ushort)Math.Min(ReceiveBufferSize, TcpHandshake.MaxUnscaledWindow);
        _hs!.WriteSyn(ref buffer, _local.Port, _remote.Port, withAck, rcv.Next, window, (ushort)Layer.LocalMss, TsNow, _tsRecent, rcv.WindowScale);
        if (withAck)
            rcv.OnSynAckSent(window);
        NoteSendResult(Layer.Transmit(_local.Address, _remote.Address, buffer));
    }

    /// <summary>Takes a received segment from the stack (<see cref="IIpLayer.TakeReceived"/>) and releases it.</summary>
    private void Drop(PacketBuffer payload)
    {
        Layer.Ip.TakeReceived(payload);
        payload.Release();
    }

    /// <summary>A segment for a listening socket (RFC 9293 §3.10.7.2); takes over <paramref name="payload"/> (released at once).</summary>
    internal void OnListenSegment(Ipv4Address source, Ipv4Address destination, ref TcpSegment seg, PacketBuffer payload)
    {
        Drop(payload); // data on a SYN is not queued (it will be retransmitted)
        if (seg.Rst)
            return;
        if (seg.HasAck)
        {
            Layer.SendResetFor(in seg, source, destination);
            return;
        }
        if (!seg.Syn || HoldSyns)
            return;
        var backlog = _backlog!;
        if (!backlog.TryAdmit())
        {
            // Half-open slots full (a SYN flood, maybe from addresses that never answer): drop the oldest
            // half-open connection for the new SYN (early drop), so that the flood cannot lock legitimate
            // clients out, whose handshakes complete within a round trip. A full accept queue still drops.
            if (backlog.ReadyFull || backlog.TakeOldestHalfOpen() is not { } oldest)
            {
                Layer.Statistics.ListenOverflows++;
                return;
            }
            Layer.Statistics.HalfOpenDropped++;
            oldest.EnterClosed(0);
            if (!backlog.TryAdmit())
            {
                Layer.Statistics.ListenOverflows++;
                return;
            }
        }
        var child = new TcpSocket(Layer, this);
        child._local = new Ipv4Endpoint(destination, seg.DestinationPort);
        child._remote = new Ipv4Endpoint(source, seg.SourcePort);
        child.InitConnection(new ConnectionKey(destination.Value, seg.DestinationPort, source.Value, seg.SourcePort));
        child._hs!.Irs = seg.Seq;
        child._rcv!.Start(seg.Seq);
        child.TakeSynOptions(in seg);
        child._snd!.TakeWindow(seg.Window, seg.Seq, child._hs.Iss); // never scaled on a SYN
        child.State = TcpState.SynReceived;
        child._snd.StartHandshakeTiming(Layer.Now);
        Layer.Statistics.PassiveOpens++;
        child.SendSyn(withAck: true);
        child._snd.ArmRetransmit(Layer.Now);
        Layer.Schedule(child);
        backlog.Track(child);
    }

    /// <summary>A passive connection whose handshake is still open (SYN_RECEIVED, its listener known).</summary>
    internal bool IsHalfOpenChild => State == TcpState.SynReceived && Listener is not null;

    /// <summary>SYN_SENT processing (RFC 9293 §3.10.7.3).</summary>
    private void OnSynSentSegment(ref TcpSegment seg, PacketBuffer payload)
    {
        Drop(payload);
        var snd = _snd!;
        if (seg.HasAck && (SeqNum.Le(seg.Ack, _hs!.Iss) || SeqNum.Gt(seg.Ack, snd.Max)))
        {
            if (!seg.Rst)
                Layer.SendBare(_local.Address, _local.Port, _remote.Address, _remote.Port, seg.Ack, 0, TcpFlags.Rst);
            return;
        }
        if (seg.Rst)
        {
            // Acceptable only with an acceptable ACK (RFC 5961 §3.2 keeps blind resets out).
            if (seg.HasAck)
            {
                Layer.Statistics.ResetsReceived++;
                EnterClosed(Errno.ECONNREFUSED);
            }
            return;
        }
        if (!seg.Syn)
            return;
        _hs!.Irs = seg.Seq;
        _rcv!.Start(seg.Seq);
        TakeSynOptions(in seg);
        if (seg.HasAck)
        {
            snd.Una = seg.Ack;
            snd.TakeWindow(seg.Window, seg.Seq, seg.Ack); // a SYN's window is never scaled (RFC 7323 §2.2)
            // The SYN-ACK's timestamp echo or the SYN's send time gives the first RTT sample.
            snd.OnHandshakeAcked(Layer.Now);
            EnterEstablished();
            SendAck();
            Output();
        }
        else
        {
            // Simultaneous open: answer with SYN-ACK on our ISN (RFC 9293 §3.5, figure 8).
            snd.Wnd = seg.Window;
            snd.Wl1 = seg.Seq;
            State = TcpState.SynReceived;
            SendSyn(withAck: true);
            snd.ArmRetransmit(Layer.Now);
        }
    }

    private void EnterEstablished()
    {
        State = TcpState.Established;
        _lastRecvTime = Layer.Now;
        ArmKeepAlive(Layer.Now);
        if (Listener is { } listener)
        {
            listener._backlog!.OnHandshakeEnded();
            if (listener.State == TcpState.Listen && !listener._userClosed)
            {
                listener._backlog.Enqueue(this);
                Layer.Raise(listener, TcpEvents.Accept);
            }
        }
        else
        {
            Layer.Raise(this, TcpEvents.Connected | TcpEvents.Writable);
        }
        if (_snd!.FinQueued)
            State = TcpState.FinWait1;
    }

    private void CloseListener()
    {
        State = TcpState.Closed;
        // Pending connections die with the listener: reset those the peer thinks are open.
        foreach (var child in Layer.ChildrenOf(this))
        {
            child.Listener = null;
            child._userClosed = true;
            child.Abort(0);
        }
        if (_backlog is not null)
        {
            while (_backlog.TryDequeue(out var child))
            {
                child.Listener = null;
                child._userClosed = true;
                child.Abort(0);
            }
            _backlog.ClearHalfOpen();
        }
        Release();
    }

    /// <summary>RFC 6191: a SYN may reuse a TIME_WAIT 4-tuple when its sequence (or timestamp) is newer.</summary>
    internal bool AcceptsNewIncarnation(in TcpSegment seg)
    {
        if (Timestamps && seg.HasTimestamp)
            return SeqNum.Gt(seg.TsVal, _tsRecent);
        return SeqNum.Gt(seg.Seq, _rcv!.Next);
    }

    internal void ReleaseTimeWait() => EnterClosed(0);

    // ---- Segment arrival (RFC 9293 §3.10.7.4, with RFC 7323 PAWS and RFC 5961 protections) ----

    /// <summary>
    /// Handles one segment of this connection; takes over <paramref name="payload"/> (the data after the
    /// header) where it releases or queues it (<see cref="IIpLayer.TakeReceived"/>), so that a fault
    /// before that point leaves the segment to the stack to release.
    /// </summary>
    internal void OnSegment(ref TcpSegment seg, PacketBuffer payload)
    {
        long now = Layer.Now;
        switch (State)
        {
            case TcpState.SynSent:
                OnSynSentSegment(ref seg, payload);
                Output();
                return;
            case TcpState.Closed:
            case TcpState.Listen:
                Drop(payload);
                return;
        }
        var snd = _snd!;
        var rcv = _rcv!;

        // A retransmitted SYN while we wait for the handshake's ACK: our SYN-ACK was lost.
        if (State == TcpState.SynReceived && seg.Syn && !seg.HasAck && seg.Seq == _hs!.Irs)
        {
            Drop(payload);
            SendSyn(withAck: true);
            return;
        }

        // Simultaneous open (RFC 9293 figure 8): the peer's SYN-ACK crosses ours. Its SYN is the one
        // we already acknowledged; take the ACK part as the handshake's final ACK.
        if (State == TcpState.SynReceived && seg.Syn && seg.HasAck && seg.Seq == _hs!.Irs && !seg.Rst
            && SeqNum.Gt(seg.Ack, snd.Una) && SeqNum.Le(seg.Ack, snd.Max))
        {
            seg.Flags &= unchecked((byte)~TcpFlags.Syn);
            seg.Seq++;
        }

        // PAWS (RFC 7323 §5.3): an old timestamp marks an old duplicate.
        if (snd.Timestamps && seg.HasTimestamp && !seg.Rst && SeqNum.Lt(seg.TsVal, _tsRecent) && now - _tsRecentAge < PawsIdleMicroseconds)
        {
            Layer.Statistics.PawsDropped++;
            Drop(payload);
            SendAck();
            return;
        }

        // Sequence acceptability (RFC 9293 §3.10.7.4 first step).
        if (!rcv.IsAcceptable(seg.Seq, seg.SegmentLength))
        {
            Drop(payload);
            if (!seg.Rst)
            {
                if (SeqNum.Lt(seg.Seq, rcv.Next))
                    Layer.Statistics.DuplicateSegments++;
                else
                    Layer.Statistics.OutOfWindowDropped++;
                rcv.AckNow = true;
                if (State == TcpState.TimeWait)
                    SendAck();
                else
                    Output();
            }
            return;
        }
        OnPeerAlive(now);

        // RST (RFC 5961 §3.2): only an exact match resets; in-window ones get a challenge ACK.
        if (seg.Rst)
        {
            Drop(payload);
            if (seg.Seq == rcv.Next)
            {
                Layer.Statistics.ResetsReceived++;
                OnReset();
            }
            else if (Layer.AllowChallengeAck())
            {
                SendAck();
            }
            return;
        }

        // SYN in a synchronized state (RFC 5961 §4.2): challenge ACK.
        if (seg.Syn)
        {
            Drop(payload);
            if (Layer.AllowChallengeAck())
                SendAck();
            return;
        }

        if (!seg.HasAck)
        {
            Drop(payload);
            return;
        }

        if (State == TcpState.SynReceived)
        {
            if (SeqNum.Gt(seg.Ack, snd.Una) && SeqNum.Le(seg.Ack, snd.Max))
            {
                snd.OnHandshakeAcked(now);
                snd.Una = seg.Ack;
                snd.TakeWindow((uint)seg.Window << snd.WindowScale, seg.Seq, seg.Ack);
                EnterEstablished();
            }
            else
            {
                Drop(payload);
                Layer.SendBare(_local.Address, _local.Port, _remote.Address, _remote.Port, seg.Ack, 0, TcpFlags.Rst);
                return;
            }
        }
        else
        {
            // RFC 5961 §5.2: an ACK for data never sent, or far below SND.UNA, is answered and dropped.
            if (SeqNum.Gt(seg.Ack, snd.Max) || SeqNum.Lt(seg.Ack, snd.Una - Math.Max(snd.MaxWnd, 1)))
            {
                Drop(payload);
                if (Layer.AllowChallengeAck())
                    SendAck();
                return;
            }
            if (State != TcpState.TimeWait)
                snd.ProcessAck(ref seg, now);
            if (State == TcpState.Closed)
            {
                Drop(payload);
                return;
            }
        }

        // RFC 7323 §4.3: remember the timestamp of the segment that is next in sequence.
        if (snd.Timestamps && seg.HasTimestamp && SeqNum.Ge(seg.TsVal, _tsRecent) && SeqNum.Le(seg.Seq, rcv.LastAckSent))
        {
            _tsRecent = seg.TsVal;
            _tsRecentAge = now;
        }

        if (State == TcpState.TimeWait)
        {
            // Only a retransmitted FIN can arrive: acknowledge it and restart the 2·MSL timer.
            Drop(payload);
            if (seg.Fin)
            {
                SendAck();
                _timers.Arm(TcpTimer.Close, now + 2 * Layer.Config.MslMicroseconds);
            }
            return;
        }

        if ((payload.Length > 0 || seg.Fin) && State is TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2)
        {
            Layer.Ip.TakeReceived(payload); // the receiver queues or releases it
            ReceiveText(seg.Seq, payload, seg.Fin, now);
        }
        else
            Drop(payload);

        if (State != TcpState.Closed)
            Output();
    }

    private void ReceiveText(uint seq, PacketBuffer payload, bool fin, long now)
    {
        switch (_rcv!.ReceiveText(seq, payload, fin, now))
        {
            case TcpReceiveOutcome.DataAfterClose:
                // Nobody will read it (RFC 2525 §2.17; Linux resets too).
                Abort(0);
                break;
            case TcpReceiveOutcome.FinReceived:
                OnFinReceived(now);
                break;
        }
    }

    private void OnFinReceived(long now)
    {
        switch (State)
        {
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.CloseWait;
                break;
            case TcpState.FinWait1:
                State = TcpState.Closing; // our FIN is not acknowledged yet
                break;
            case TcpState.FinWait2:
                EnterTimeWait(now);
                break;
        }
    }

    /// <summary>An acceptable RST (RFC 9293 §3.10.7.4 second step).</summary>
    private void OnReset()
    {
        switch (State)
        {
            case TcpState.SynReceived:
                // Passive open: back to LISTEN (the child just disappears); active: refused.
                EnterClosed(Listener is null ? Errno.ECONNREFUSED : 0);
                break;
            case TcpState.Established:
            case TcpState.FinWait1:
            case TcpState.FinWait2:
            case TcpState.CloseWait:
                EnterClosed(Errno.ECONNRESET);
                break;
            default:
                EnterClosed(0);
                break;
        }
    }

    // ---- Output ----

    /// <summary>The output routine: what the sender may send, then an ACK that is still owed.</summary>
    private void Output()
    {
        if (!IsSynchronized)
        {
            if (State == TcpState.TimeWait && _rcv is { AckNow: true })
                SendAck();
            return;
        }
        _snd!.Output(Layer.Now);
        if (_rcv!.AckNow)
            SendAck();
    }

    /// <summary>Sends a pure ACK (also a window update, a duplicate ACK with SACK blocks, or a challenge ACK); a SYN-ACK while the handshake is open.</summary>
    private void SendAck()
    {
        if (State is TcpState.Closed or TcpState.Listen or TcpState.SynSent)
        {
            if (_rcv is not null)
                _rcv.AckNow = false;
            return;
        }
        if (State == TcpState.SynReceived)
        {
            SendSyn(withAck: true);
            _rcv!.AckNow = false;
            return;
        }
        _snd!.SendAck();
    }

    /// <summary>After the application read: send a window update when the window opened a lot (like Linux's tcp_cleanup_rbuf).</summary>
    private void OnDataRead()
    {
        if (IsSynchronized && _rcv!.WindowUpdateWorthSending())
        {
            SendAck();
            Layer.Schedule(this);
        }
    }

    /// <summary>Queues our FIN after the data (CLOSE or SHUTDOWN(WR), RFC 9293 §3.10.4).</summary>
    private void QueueFin()
    {
        var snd = _snd;
        if (snd is null || snd.FinQueued)
            return;
        switch (State)
        {
            case TcpState.SynSent:
                snd.FinQueued = true; // sent once established
                return;
            case TcpState.SynReceived:
            case TcpState.Established:
                State = TcpState.FinWait1;
                break;
            case TcpState.CloseWait:
                State = TcpState.LastAck;
                break;
            default:
                return;
        }
        snd.FinQueued = true;
        Output();
    }

    private void NoteSendResult(int errno)
    {
        if (errno != 0)
            _snd!.SoftError = errno;
    }

    private int TimeoutError => _snd!.SoftError is Errno.EHOSTUNREACH or Errno.ENETUNREACH ? _snd.SoftError : Errno.ETIMEDOUT;

    // ---- Keepalive (RFC 9293 §3.8.4) ----

    private void ArmKeepAlive(long now)
    {
        if (_keepAlive && IsSynchronized)
            _timers.Arm(TcpTimer.KeepAlive, Math.Max(now, _lastRecvTime) + KeepAliveIdleMicroseconds);
        else
            _timers.Stop(TcpTimer.KeepAlive);
        _keepaliveSent = 0;
    }

    /// <summary>Any acceptable segment proves the peer alive.</summary>
    private void OnPeerAlive(long now)
    {
        _lastRecvTime = now;
        if (_keepaliveSent > 0 || (_keepAlive && !_timers.IsArmed(TcpTimer.KeepAlive)))
            ArmKeepAlive(now);
    }

    // ---- Timers ----

    internal long NextDeadline => _timers.Next;

    internal void OnTimer(long now) => _timers.Fire(now, this);

    bool ITcpTimerHandler.OnLingerTimeout(long now)
    {
        if (State is TcpState.TimeWait or TcpState.Closed)
            return false;
        Abort(0); // SO_LINGER time ran out before the close finished
        return true;
    }

    bool ITcpTimerHandler.OnCloseTimeout(long now)
    {
        if (State == TcpState.TimeWait)
        {
            EnterClosed(0);
            return true;
        }
        if (State == TcpState.FinWait2)
        {
            Abort(0);
            return true;
        }
        return false;
    }

    bool ITcpTimerHandler.OnRetransmitTimeout(long now)
    {
        OnRetransmitTimer(now);
        return State == TcpState.Closed;
    }

    void ITcpTimerHandler.OnDelayedAckTimeout(long now)
    {
        if (_rcv is { AckPending: true })
            SendAck();
    }

    void ITcpTimerHandler.OnKeepAliveTimeout(long now)
    {
        if (!_keepAlive || !IsSynchronized)
        {
            _timers.Stop(TcpTimer.KeepAlive);
            return;
        }
        long idleEnd = _lastRecvTime + KeepAliveIdleMicroseconds;
        if (_keepaliveSent == 0 && now < idleEnd)
        {
            _timers.Arm(TcpTimer.KeepAlive, idleEnd); // traffic arrived since the timer was set
            return;
        }
        if (_keepaliveSent >= KeepAliveProbes)
        {
            Layer.Statistics.ConnectionsTimedOut++;
            Abort(Errno.ETIMEDOUT);
            return;
        }
        _keepaliveSent++;
        Layer.Statistics.KeepAliveProbes++;
        _snd!.SendProbe();
        _timers.Arm(TcpTimer.KeepAlive, now + KeepAliveIntervalMicroseconds);
    }

    private void OnRetransmitTimer(long now)
    {
        var config = Layer.Config;
        var snd = _snd;
        if (snd is null)
            return;
        if (snd.Persist)
        {
            // A peer that advertises a zero window and then answers no probe would hold the connection
            // (and its send buffer) for ever: give up like Linux's tcp_probe_timer, sooner for orphans.
            int limit = _userClosed ? config.OrphanRetries : config.MaxRetransmissions;
            if (snd.ProbesOut >= limit && snd.Wnd == 0)
            {
                Layer.Statistics.ConnectionsTimedOut++;
                Layer.Statistics.PersistTimeouts++;
                Abort(TimeoutError);
                return;
            }
            snd.OnPersistTimeout(now, IsSynchronized);
            return;
        }
        switch (State)
        {
            case TcpState.SynSent:
                if (++snd.RetransmitCount > config.SynRetries)
                {
                    Layer.Statistics.ConnectionsTimedOut++;
                    EnterClosed(TimeoutError);
                    return;
                }
                snd.Rtt.Backoff();
                Layer.Statistics.Retransmissions++;
                SendSyn(withAck: false);
                snd.ArmRetransmit(now);
                return;
            case TcpState.SynReceived:
                if (++snd.RetransmitCount > config.SynAckRetries)
                {
                    Layer.Statistics.ConnectionsTimedOut++;
                    EnterClosed(Listener is null ? Errno.ETIMEDOUT : 0);
                    return;
                }
                snd.Rtt.Backoff();
                Layer.Statistics.Retransmissions++;
                SendSyn(withAck: true);
                snd.ArmRetransmit(now);
                return;
            case TcpState.Closed or TcpState.Listen or TcpState.TimeWait:
                return;
        }
        if (snd.Max == snd.Una)
        {
            // Nothing in flight: the timer was the persist timer until a window update cleared that.
            // Data may still wait for a window too small to send into: let the output routine send it
            // or start the persist timer again, or the connection would wait for ever (found by fuzzing:
            // fuzz/regressions/tcp-state/zero-window-then-silence-*).
            Output();
            return;
        }
        if (++snd.RetransmitCount > config.MaxRetransmissions)
        {
            Layer.Statistics.ConnectionsTimedOut++;
            Abort(TimeoutError);
            return;
        }
        Layer.Statistics.RetransmitTimeouts++;
        snd.OnRetransmitTimeout(now);
        Output();
        snd.ArmRetransmit(now);
    }

    // ---- Teardown ----

    /// <summary>Sends RST if synchronized, then closes with <paramref name="errno"/> (ECONNABORTED when 0 and the socket is still open).</summary>
    private void Abort(int errno)
    {
        if (State is TcpState.SynReceived or TcpState.Established or TcpState.FinWait1 or TcpState.FinWait2
            or TcpState.CloseWait or TcpState.Closing or TcpState.LastAck)
        {
            Layer.SendBare(_local.Address, _local.Port, _remote.Address, _remote.Port, _snd!.Nxt, _rcv!.Next, TcpFlags.Rst | TcpFlags.Ack);
        }
        EnterClosed(errno != 0 ? errno : (_userClosed ? 0 : Errno.ECONNABORTED));
    }

    private void EnterTimeWait(long now)
    {
        State = TcpState.TimeWait;
        _snd!.Clear();
        _rcv!.ClearOutOfOrder();
        _timers.StopAllButClose();
        _timers.Arm(TcpTimer.Close, now + 2 * Layer.Config.MslMicroseconds);
        Layer.Raise(this, TcpEvents.Readable);
    }

    /// <summary>The connection ends: drop its queues and timers, leave the connection table, report.</summary>
    private void EnterClosed(int errno)
    {
        var previous = State;
        State = TcpState.Closed;
        // A passive child that dies before it is accepted has no owner to release it.
        bool orphanChild = false;
        if (previous == TcpState.SynReceived && Listener is { } listener)
        {
            listener._backlog!.OnHandshakeEnded();
            Listener = null;
            orphanChild = true;
        }
        RaiseError(errno);
        FreeTcb();
        Layer.Raise(this, TcpEvents.Closed | TcpEvents.Readable);
        if (_userClosed || orphanChild)
            Release();
    }

    /// <summary>Drops everything the TCB holds except received data the owner may still read.</summary>
    private void FreeTcb()
    {
        _snd?.Clear();
        _rcv?.ClearOutOfOrder();
        if (_userClosed)
            _rcv?.ClearReadable();
        _timers.StopAll();
        if (_registered)
        {
            Layer.Unregister(this, _key);
            _registered = false;
        }
    }

    /// <summary>Frees what remains once nobody can use the socket: received data and the port binding.</summary>
    private void Release()
    {
        _rcv?.ClearReadable();
        if (_bound)
        {
            Layer.Unbind(this, _local.Port, IsReplica);
            _bound = false;
        }
    }

    // ---- What the sender and receiver see of the connection ----

    long ITcpSenderHost.Now => Layer.Now;

    uint ITcpSenderHost.TimestampNow => TsNow;

    bool ITcpSenderHost.TryRentSegment(out PacketBuffer buffer) => Layer.TryRentSegment(out buffer);

    bool ITcpSenderHost.CanTransmitInPlace(in PacketBuffer buffer, int tcpHeaderLength)
    {
        var ip = Layer.Ip;
        return buffer.Pool == ip.Pool && buffer.HeadroomLeft >= ip.HeaderRoom + tcpHeaderLength;
    }

    int ITcpSenderHost.CollectSackBlocks(Span<SackBlock> blocks) => _rcv!.CollectSackBlocks(blocks);

    void ITcpSenderHost.Transmit(PacketBuffer segment, uint seq, byte flags, int headerLength, ReadOnlySpan<SackBlock> sacks)
    {
        var rcv = _rcv!;
        var header = segment.Prepend(headerLength);
        TcpHeaderWriter.WriteFixed(header, _local.Port, _remote.Port, seq, rcv.Next, flags, rcv.WindowToAdvertise(), headerLength);
        TcpHeaderWriter.WriteDataOptions(header[TcpSegment.MinHeaderLength..], _snd!.Timestamps, TsNow, _tsRecent, sacks);
        rcv.OnAckSent();
        NoteSendResult(Layer.Transmit(_local.Address, _remote.Address, segment));
    }

    void ITcpSenderHost.OnWritable() => Layer.Raise(this, TcpEvents.Writable);

    void ITcpSenderHost.OnFinAcked(long now)
    {
        switch (State)
        {
            case TcpState.FinWait1:
                State = TcpState.FinWait2;
                _timers.Stop(TcpTimer.Linger); // SO_LINGER is satisfied once our FIN is acknowledged
                if (_userClosed)
                    _timers.Arm(TcpTimer.Close, now + Layer.Config.FinWait2TimeoutMicroseconds);
                break;
            case TcpState.Closing:
                EnterTimeWait(now);
                break;
            case TcpState.LastAck:
                EnterClosed(0);
                break;
        }
    }

    int ITcpReceiverHost.SendMss => SendMss;

    bool ITcpReceiverHost.ReadShutdown => _readShutdown;

    bool ITcpReceiverHost.UserClosed => _userClosed;

    void ITcpReceiverHost.OnReadable() => Layer.Raise(this, TcpEvents.Readable);
}
