using Demi.Buffers;

namespace Demi.Inet.Tcp.Internal;

/// <summary>
/// What the SYNs of one connection agreed (RFC 9293 §3.7.1 MSS, RFC 7323 window scale and
/// timestamps, RFC 2018 SACK-permitted), and the SYN / SYN-ACK that offers it: a SYN offers what
/// the configuration enables; a SYN-ACK offers only what the peer's SYN offered.
/// </summary>
internal sealed class TcpHandshake
{
    /// <summary>The peer's MSS when its SYN has no MSS option (RFC 9293 §3.7.1).</summary>
    public const int DefaultPeerMss = 536;

    /// <summary>Smallest MSS we accept or use: smaller values are ignored (they would only cost headers).</summary>
    public const int MinMss = 64;

    /// <summary>Largest window shift (RFC 7323 §2.3).</summary>
    public const int MaxWindowScale = 14;

    /// <summary>Largest unscaled window (the 16-bit field).</summary>
    public const int MaxUnscaledWindow = 65535;

    private readonly TcpConfig _config;

    public TcpHandshake(TcpConfig config) => _config = config;

    /// <summary>Our initial sequence number.</summary>
    public uint Iss;

    /// <summary>The peer's initial sequence number.</summary>
    public uint Irs;

    /// <summary>The peer's MSS (its option, or <see cref="DefaultPeerMss"/>).</summary>
    public int PeerMss { get; private set; } = DefaultPeerMss;

    /// <summary>Both sides scale windows.</summary>
    public bool WindowScaling { get; private set; }

    /// <summary>The peer's window shift (SND.WIND.SHIFT), 0 without scaling.</summary>
    public int SendWindowScale { get; private set; }

    /// <summary>Both sides use SACK.</summary>
    public bool Sack { get; private set; }

    /// <summary>Both sides use timestamps.</summary>
    public bool Timestamps { get; private set; }

    /// <summary>The smallest shift that lets <paramref name="receiveBufferSize"/> be advertised.</summary>
    public static int WindowScaleFor(int receiveBufferSize)
    {
        int scale = 0;
        while (scale < MaxWindowScale && (receiveBufferSize >> scale) > MaxUnscaledWindow)
            scale++;
        return scale;
    }

    /// <summary>Takes the options of the peer's SYN (or of the SYN-ACK answering ours).</summary>
    public void TakeSynOptions(in TcpSegment syn)
    {
        if (syn.HasMss && syn.Mss >= MinMss)
            PeerMss = syn.Mss;
        WindowScaling = _config.WindowScaling && syn.WindowScale >= 0;
        SendWindowScale = WindowScaling ? syn.WindowScale : 0;
        Sack = _config.Sack && syn.SackPermitted;
        Timestamps = _config.Timestamps && syn.HasTimestamp;
    }

    /// <summary>The MSS for our segments: the smaller of both, less the timestamps option every segment then carries.</summary>
    public int SendMss(int localMss)
    {
        int mss = Math.Min(PeerMss, localMss);
        if (Timestamps)
            mss -= TcpSender.TimestampOptionLength;
        return Math.Max(mss, MinMss);
    }

    /// <summary>
    /// Prepends a SYN (<paramref name="withAck"/> false) or SYN-ACK to <paramref name="buffer"/>.
    /// The window is never scaled on a SYN (RFC 7323 §2.2); <paramref name="windowScale"/> is the
    /// shift we offer.
    /// </summary>
    public void WriteSyn(ref PacketBuffer buffer, ushort localPort, ushort remotePort, bool withAck, uint ack, ushort window,
        ushort localMss, uint tsVal, uint tsEcr, int windowScale)
    {
        bool ws = _config.WindowScaling && (!withAck || WindowScaling);
        bool sack = _config.Sack && (!withAck || Sack);
        bool ts = _config.Timestamps && (!withAck || Timestamps);
        int headerLength = TcpSegment.MinHeaderLength + TcpHeaderWriter.SynOptionsLength(sack, ts, ws);
        var header = buffer.Prepend(headerLength);
        TcpHeaderWriter.WriteFixed(header, localPort, remotePort, Iss, withAck ? ack : 0,
            withAck ? (byte)(TcpFlags.Syn | TcpFlags.Ack) : TcpFlags.Syn, window, headerLength);
        TcpHeaderWriter.WriteSynOptions(header[TcpSegment.MinHeaderLength..], localMss, sack, ts,
            tsVal, withAck ? tsEcr : 0, ws ? windowScale : -1);
    }
}

/// <summary>
/// The bounded backlog of a listener: connections in SYN_RECEIVED (half-open) and established
/// ones waiting for accept, each at most the backlog, so that a SYN flood costs a counter, not memory.
/// </summary>
internal sealed class TcpBacklog
{
    private readonly Queue<TcpSocket> _ready = new();
    // Half-open connections, oldest first. Entries whose handshake ended meanwhile are skipped (and
    // compacted away), so that completing a handshake costs nothing here.
    private readonly Queue<TcpSocket> _halfOpenOrder = new();
    private int _halfOpen;

    /// <summary>The limit for half-open and for accept-ready connections.</summary>
    public int Limit { get; set; }

    /// <summary>Connections waiting for accept.</summary>
    public int ReadyCount => _ready.Count;

    /// <summary>Connections whose handshake is open.</summary>
    public int HalfOpenCount => _halfOpen;

    /// <summary>Whether the accept queue is full (new SYNs are then dropped, as Linux does).</summary>
    public bool ReadyFull => _ready.Count >= Limit;

    /// <summary>Remembers a new half-open connection (admitted by <see cref="TryAdmit"/>) as the youngest.</summary>
    public void Track(TcpSocket connection)
    {
        _halfOpenOrder.Enqueue(connection);
        if (_halfOpenOrder.Count > 2 * Limit + 16)
        {
            // Mostly finished handshakes: keep only the ones still open, in order.
            int n = _halfOpenOrder.Count;
            for (int i = 0; i < n; i++)
            {
                var c = _halfOpenOrder.Dequeue();
                if (c.IsHalfOpenChild)
                    _halfOpenOrder.Enqueue(c);
            }
        }
    }

    /// <summary>The oldest connection whose handshake is still open (taken off the order), or null.</summary>
    public TcpSocket? TakeOldestHalfOpen()
    {
        while (_halfOpenOrder.TryDequeue(out var c))
        {
            if (c.IsHalfOpenChild)
                return c;
        }
        return null;
    }

    /// <summary>Takes a half-open connection for a new SYN; false when the backlog is full.</summary>
    public bool TryAdmit()
    {
        if (_halfOpen >= Limit || _ready.Count >= Limit)
            return false;
        _halfOpen++;
        return true;
    }

    /// <summary>A half-open connection completed its handshake or died.</summary>
    public void OnHandshakeEnded() => _halfOpen--;

    /// <summary>A connection is ready for accept.</summary>
    public void Enqueue(TcpSocket connection) => _ready.Enqueue(connection);

    /// <summary>Takes the oldest ready connection.</summary>
    public bool TryDequeue(out TcpSocket connection) => _ready.TryDequeue(out connection!);

    /// <summary>The listener closes: forget the half-open ones (they are reset by the caller).</summary>
    public void ClearHalfOpen()
    {
        _halfOpen = 0;
        _halfOpenOrder.Clear();
    }
}
