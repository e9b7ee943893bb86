using Demi.Buffers;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tcp;

// Connection setup: active open (SYN_SENT), passive open from a listener (SYN_RECEIVED), the
// options negotiated on the SYNs (MSS, window scale, SACK-permitted, timestamps), the bounded
// backlog, and teardown of listeners.
public sealed partial class TcpSocket
{
    private Queue<TcpSocket>? _acceptQueue;
    private int _backlog;
    private int _halfOpen;

    private uint _iss;
    private uint _irs;
    private int _peerMss;
    private int _sndWscale;
    private int _rcvWscale;
    private bool _wsOk;
    private bool _sackOk;
    private bool _tsOk;
    private int _sndMss;
    private uint _tsOffset;

    private SendQueue? _sendQ;
    private ReceiveQueue? _rcvQ;
    private OutOfOrderQueue? _ooo;
    private SackScoreboard? _sb;
    private CongestionControl? _cc;
    private RttEstimator _rtt;

    private static CongestionControl CreateCongestionControl(TcpCongestionAlgorithm algorithm)
        => algorithm == TcpCongestionAlgorithm.NewReno ? new NewRenoCongestionControl() : new CubicCongestionControl();

    /// <summary>Allocates the TCB's queues (once per connection, not per segment) and picks our window scale.</summary>
    private void InitConnection(ConnectionKey key, bool portCounted = false)
    {
        var config = Layer.Config;
        _key = key;
        _sendQ = new SendQueue();
        _rcvQ = new ReceiveQueue();
        _ooo = new OutOfOrderQueue();
        _sb = new SackScoreboard();
        _rtt.Init(config.InitialRtoMicroseconds, config.MinRtoMicroseconds, config.MaxRtoMicroseconds);
        _rcvWscale = 0;
        if (config.WindowScaling)
        {
            while (_rcvWscale < 14 && (ReceiveBufferSize >> _rcvWscale) > 65535)
                _rcvWscale++;
        }
        // Per host pair, not per connection (like Linux): timestamps stay monotonic across
        // incarnations of a 4-tuple, which lets a new SYN reopen TIME_WAIT (RFC 6191).
        _tsOffset = Layer.TimestampOffset(key);
        _iss = Layer.NextIsn(key);
        _sndUna = _iss;
        _sndNxt = _iss + 1;
        _sndMax = _sndNxt;
        _sendQStart = _iss + 1;
        _recover = _iss;
        _peerMss = 536; // RFC 9293 §3.7.1 default when no MSS option
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
        _rttStart = Layer.Now;
        SendSyn(withAck: false);
        ArmRetransmit(Layer.Now);
        Layer.Schedule(this);
        return 0;
    }

    /// <summary>The effective MSS once options are known: the smaller MSS, less the timestamp option on every segment.</summary>
    private void ComputeSendMss()
    {
        int mss = Math.Min(_peerMss, Layer.LocalMss);
        if (_tsOk)
            mss -= 12;
        _sndMss = Math.Max(mss, 64);
        if (_cc is null)
        {
            _cc = CreateCongestionControl(_ccAlgorithm);
            _cc.Init(_sndMss);
        }
        else
        {
            _cc.SetMss(_sndMss);
        }
    }

    /// <summary>Takes the options of a received SYN (or SYN-ACK to our SYN).</summary>
    private void TakeSynOptions(in TcpSegment seg, bool weOffered)
    {
        var config = Layer.Config;
        if (seg.HasMss && seg.Mss >= 64)
            _peerMss = seg.Mss;
        _wsOk = config.WindowScaling && seg.WindowScale >= 0;
        _sndWscale = _wsOk ? seg.WindowScale : 0;
        if (!_wsOk)
            _rcvWscale = 0;
        _sackOk = config.Sack && seg.SackPermitted;
        _tsOk = config.Timestamps && seg.HasTimestamp;
        if (_tsOk)
        {
            _tsRecent = seg.TsVal;
            _tsRecentAge = Layer.Now;
        }
        _ = weOffered;
        ComputeSendMss();
    }

    private uint TsNow => (uint)(Layer.Now / 1000) + _tsOffset;

    /// <summary>Sends SYN (active open) or SYN-ACK (passive or simultaneous open) with our options.</summary>
    private void SendSyn(bool withAck)
    {
        if (!Layer.TryRentSegment(out var buffer))
            return;
        var config = Layer.Config;
        // On a SYN-ACK, offer only what the peer offered (RFC 7323 §1.3, RFC 2018 §2).
        bool ws = config.WindowScaling && (!withAck || _wsOk);
        bool sack = config.Sack && (!withAck || _sackOk);
        bool ts = config.Timestamps && (!withAck || _tsOk);
        int optionsLength = TcpHeaderWriter.SynOptionsLength(sack, ts, ws);
        int headerLength = TcpSegment.MinHeaderLength + optionsLength;
        var header = buffer.Prepend(headerLength);
        // The window on a SYN is never scaled (RFC 7323 §2.2).
        ushort window = (ushort)Math.Min(ReceiveBufferSize, 65535);
        TcpHeaderWriter.WriteFixed(header, _local.Port, _remote.Port, _iss, withAck ? _rcvNxt : 0,
            withAck ? (byte)(TcpFlags.Syn | TcpFlags.Ack) : TcpFlags.Syn, window, headerLength);
        TcpHeaderWriter.WriteSynOptions(header[TcpSegment.MinHeaderLength..], (ushort)Layer.LocalMss, sack, ts,
            TsNow, withAck ? _tsRecent : 0, ws ? (withAck ? _rcvWscale : ComputeOfferedScale()) : -1);
        if (withAck)
        {
            _rcvAdvEdge = _rcvNxt + window;
            _lastAckSent = _rcvNxt;
        }
        NoteSendResult(Layer.Transmit(_local.Address, _remote.Address, buffer));
    }

    private int ComputeOfferedScale()
    {
        int scale = 0;
        while (scale < 14 && (ReceiveBufferSize >> scale) > 65535)
            scale++;
        _rcvWscale = scale;
        return scale;
    }

    /// <summary>A segment for a listening socket (RFC 9293 §3.10.7.2).</summary>
    internal void OnListenSegment(Ipv4Address source, Ipv4Address destination, ref TcpSegment seg, PacketBuffer payload)
    {
        payload.Release(); // data on a SYN is not queued (it will be retransmitted)
        if (seg.Rst)
            return;
        if (seg.HasAck)
        {
            Layer.SendResetFor(in seg, source, destination);
            return;
        }
        if (!seg.Syn || HoldSyns)
            return;
        if (_halfOpen >= _backlog || _acceptQueue!.Count >= _backlog)
        {
            // Bounded backlog: a SYN flood costs a counter, not memory.
            Layer.Statistics.ListenOverflows++;
            return;
        }
        var child = new TcpSocket(Layer, this);
        child._local = new Ipv4Endpoint(destination, seg.DestinationPort);
        child._remote = new Ipv4Endpoint(source, seg.SourcePort);
        child.InitConnection(new ConnectionKey(destination.Value, seg.DestinationPort, source.Value, seg.SourcePort));
        child._irs = seg.Seq;
        child._rcvNxt = seg.Seq + 1;
        child.TakeSynOptions(in seg, weOffered: false);
        child._sndWnd = seg.Window; // never scaled on a SYN
        child._sndWl1 = seg.Seq;
        child._sndWl2 = child._iss;
        child._maxSndWnd = child._sndWnd;
        child.State = TcpState.SynReceived;
        child._rttStart = Layer.Now;
        _halfOpen++;
        Layer.Statistics.PassiveOpens++;
        child.SendSyn(withAck: true);
        child.ArmRetransmit(Layer.Now);
        Layer.Schedule(child);
    }

    /// <summary>SYN_SENT processing (RFC 9293 §3.10.7.3).</summary>
    private void OnSynSentSegment(ref TcpSegment seg, PacketBuffer payload)
    {
        payload.Release();
        if (seg.HasAck && (SeqNum.Le(seg.Ack, _iss) || SeqNum.Gt(seg.Ack, _sndMax)))
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
        _irs = seg.Seq;
        _rcvNxt = seg.Seq + 1;
        TakeSynOptions(in seg, weOffered: true);
        if (seg.HasAck)
        {
            _sndUna = seg.Ack;
            _sndWnd = seg.Window; // a SYN's window is never scaled (RFC 7323 §2.2)
            _maxSndWnd = _sndWnd;
            _sndWl1 = seg.Seq;
            _sndWl2 = seg.Ack;
            // The SYN-ACK's timestamp echo or the SYN's send time gives the first RTT sample.
            if (_rtxCount == 0)
                _rtt.Sample(Math.Max(1, Layer.Now - _rttStart));
            _rtxCount = 0;
            StopRetransmit();
            EnterEstablished();
            SendAck();
            Output();
        }
        else
        {
            // Simultaneous open: answer with SYN-ACK on our ISN (RFC 9293 §3.5, figure 8).
            _sndWnd = seg.Window;
            _sndWl1 = seg.Seq;
            State = TcpState.SynReceived;
            SendSyn(withAck: true);
            ArmRetransmit(Layer.Now);
        }
    }

    private void EnterEstablished()
    {
        State = TcpState.Established;
        _lastRecvTime = Layer.Now;
        ArmKeepAlive(Layer.Now);
        if (Listener is { } listener)
        {
            listener._halfOpen--;
            if (listener.State == TcpState.Listen && !listener._userClosed)
            {
                listener._acceptQueue!.Enqueue(this);
                Layer.Raise(listener, TcpEvents.Accept);
            }
        }
        else
        {
            Layer.Raise(this, TcpEvents.Connected | TcpEvents.Writable);
        }
        if (_finQueued)
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
        if (_acceptQueue is not null)
        {
            while (_acceptQueue.Count > 0)
            {
                var child = _acceptQueue.Dequeue();
                child.Listener = null;
                child._userClosed = true;
                child.Abort(0);
            }
        }
        _halfOpen = 0;
        Release();
    }

    /// <summary>RFC 6191: a SYN may reuse a TIME_WAIT 4-tuple when its sequence (or timestamp) is newer.</summary>
    internal bool AcceptsNewIncarnation(in TcpSegment seg)
    {
        if (_tsOk && seg.HasTimestamp)
            return SeqNum.Gt(seg.TsVal, _tsRecent);
        return SeqNum.Gt(seg.Seq, _rcvNxt);
    }

    internal void ReleaseTimeWait() => EnterClosed(0);
}
