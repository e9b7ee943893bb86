using Demi.Buffers;
using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>A TCP kernel socket: listener or connection. A pop returns what bytes are there; end of stream is a zero-length pop.</summary>
internal sealed unsafe class KernelTcpSocket : KernelSocket, IBusyPolledHandler
{
    private readonly Queue<ulong> _pendingAccepts = new();
    private bool _listening;
    private bool _connected;
    private bool _endOfStream;
    // A connect in progress (its qt may be 0: fire-and-forget operations take no token).
    private bool _connecting;
    private ulong _connectQt;
    private int _headSent;
    // A listener on several shards: its SO_REUSEPORT replicas, and connections they handed over not yet accepted.
    private KernelListenerGroup? _group;
    private Queue<(int Qd, Ipv4Endpoint Peer)>? _handedOver;

    public KernelTcpSocket(Shard shard, int fd, bool connected)
        : base(shard, SocketConstants.SOCK_STREAM, fd)
    {
        _connected = connected;
        IsBound = connected;
        if (!connected)
        {
            // Lets a restarted server rebind while old connections sit in TIME_WAIT (not a second listener).
            int one = 1;
            Libc.setsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR, &one, sizeof(int));
        }
    }

    protected internal override int Listen(int backlog)
    {
        if (_listening)
            return Errno.EADDRINUSE;
        if (!IsBound)
            return Errno.EDESTADDRREQ;
        if (_connected || _connecting)
            return Errno.EINVAL;
        if (LibOS.Shards.Count > 1)
            return ListenOnEveryShard(backlog);
        if (Libc.listen(Fd, backlog) != 0)
            return Libc.LastErrno;
        _listening = true;
        return 0;
    }

    /// <summary>
    /// One SO_REUSEPORT socket per shard on the bound endpoint. The bound fd did not set SO_REUSEPORT
    /// (so that a second bind in this libOS stays EADDRINUSE), so it is swapped for one that does,
    /// bound to the same endpoint; then the other shards open theirs.
    /// </summary>
    private int ListenOnEveryShard(int backlog)
    {
        SockAddrIn bound;
        uint len = SockAddrIn.Size;
        if (Libc.getsockname(Fd, &bound, &len) != 0)
            return Libc.LastErrno;
        var local = bound;
        int errno = 0;
        int fd = ReplaceFd(() => KernelListenerGroup.OpenReusePort(local, out errno));
        if (fd < 0)
        {
            IsBound = false;
            return errno;
        }
        if (Libc.listen(Fd, backlog) != 0)
            return Libc.LastErrno;
        _listening = true;
        _group = KernelListenerGroup.Start(this, local, backlog);
        return 0;
    }

    /// <summary>A replica on another shard handed over an accepted connection (already descriptor <paramref name="qd"/>).</summary>
    internal void OnConnectionHandedOver(int qd, Ipv4Endpoint peer)
    {
        (_handedOver ??= new Queue<(int, Ipv4Endpoint)>()).Enqueue((qd, peer));
        while (_pendingAccepts.TryPeek(out var qt) && TryTakeHandedOver(qt))
            _pendingAccepts.Dequeue();
    }

    private bool TryTakeHandedOver(ulong qt)
    {
        if (_handedOver is not { Count: > 0 })
            return false;
        var (qd, peer) = _handedOver.Dequeue();
        _group!.Taken();
        CompleteAccept(qt, qd, peer);
        return true;
    }

    protected internal override void OnAccept(ulong qt)
    {
        if (!_listening)
        {
            Fail(qt, Errno.EINVAL);
            return;
        }
        if (_pendingAccepts.Count > 0 || !(TryTakeHandedOver(qt) || TryAccept(qt)))
            _pendingAccepts.Enqueue(qt);
    }

    private bool TryAccept(ulong qt)
    {
        SockAddrIn peer;
        uint len = SockAddrIn.Size;
        int fd = Libc.accept4(Fd, &peer, &len, Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC);
        if (fd < 0)
        {
            int errno = Libc.LastErrno;
            if (errno == Errno.EAGAIN || errno == Errno.EINTR)
                return false;
            Fail(qt, errno);
            return true;
        }
        // The connection stays on the listener's shard: its completion handlers can then use it without a thread hop.
        var connection = new KernelTcpSocket(Shard, fd, connected: true);
        int qd = RegisterAccepted(connection);
        if (qd < 0)
        {
            Libc.close(fd);
            Fail(qt, Errno.EMFILE);
            return true;
        }
        CompleteAccept(qt, qd, peer.Endpoint);
        return true;
    }

    protected internal override void OnConnect(ulong qt, Ipv4Endpoint remote)
    {
        if (_listening)
        {
            Fail(qt, Errno.EINVAL);
            return;
        }
        if (_connected)
        {
            Fail(qt, Errno.EISCONN);
            return;
        }
        if (_connecting)
        {
            Fail(qt, Errno.EALREADY);
            return;
        }
        var addr = remote.ToSockAddr();
        if (Libc.connect(Fd, &addr, SockAddrIn.Size) == 0)
        {
            _connected = true;
            BusyPollSocket();
            IsBound = true;
            CompleteConnect(qt);
            return;
        }
        int errno = Libc.LastErrno;
        if (errno != Errno.EINPROGRESS)
        {
            Fail(qt, errno);
            return;
        }
        IsBound = true;
        _connecting = true;
        _connectQt = qt;
    }

    protected internal override int GetPeerName(out Ipv4Endpoint peer)
    {
        peer = default;
        if (!_connected)
            return Errno.ENOTCONN;
        SockAddrIn addr;
        uint len = SockAddrIn.Size;
        if (Libc.getpeername(Fd, &addr, &len) != 0)
            return Libc.LastErrno;
        peer = addr.Endpoint;
        return 0;
    }

    protected internal override void OnPush(in PushRequest request)
    {
        // A connected stream ignores a pushto's address, as Linux sendto does.
        if (!_connected)
        {
            CompletePush(request, Errno.ENOTCONN);
            return;
        }
        PendingPushes.Enqueue(new PendingPush { Request = request });
        if (PendingPushes.Count == 1)
            SendPending();
    }

    // Hands queued pushes to the kernel in order; a push completes once all its bytes are taken.
    // Progress through a partially sent head push is kept in _headSent.
    private void SendPending()
    {
        while (PendingPushes.TryPeek(out var push))
        {
            var sga = push.Request.Sga;
            while (_headSent < sga.Length)
            {
                nint n = Libc.sendto(Fd, (byte*)sga.Segment.Buffer + _headSent, (nuint)(sga.Length - _headSent), Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, null, 0);
                if (n >= 0)
                {
                    _headSent += (int)n;
                    continue;
                }
                int errno = Libc.LastErrno;
                if (errno == Errno.EAGAIN)
                    return;
                if (errno == Errno.EINTR)
                    continue;
                PendingPushes.Dequeue();
                _headSent = 0;
                CompletePush(push.Request, errno);
                goto next;
            }
            PendingPushes.Dequeue();
            _headSent = 0;
            CompletePush(push.Request);
        next:;
        }
    }

    protected override void OnWritable()
    {
        if (_connecting)
        {
            int error = 0;
            uint len = sizeof(int);
            Libc.getsockopt(Fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_ERROR, &error, &len);
            ulong qt = _connectQt;
            _connecting = false;
            _connectQt = 0;
            if (error != 0)
            {
                Fail(qt, error);
                return;
            }
            _connected = true;
            BusyPollSocket();
            CompleteConnect(qt);
        }
        SendPending();
    }

    /// <inheritdoc />
    public bool BusyPollable => _connected;

    /// <inheritdoc />
    public bool PollWhileBusy()
    {
        if (!_connected)
            return false;
        int pops = PendingPops.Count, pushes = PendingPushes.Count, headSent = _headSent;
        if (pops > 0)
        {
            MayBeReadable = true; // no edge to wait for: the fd is not in the epoll set while the shard is busy
            OnReadable();
        }
        if (PendingPushes.Count > 0)
            SendPending();
        return PendingPops.Count != pops || PendingPushes.Count != pushes || _headSent != headSent;
    }

    protected internal override void OnPop(ulong qt)
    {
        if (!_connected)
        {
            Fail(qt, _listening ? Errno.EINVAL : Errno.ENOTCONN);
            return;
        }
        if (PendingPops.Count > 0 || !MayBeReadable || !TryReceive(qt))
            PendingPops.Enqueue(qt);
    }

    protected override void OnReadable()
    {
        if (_listening)
        {
            while (_pendingAccepts.TryPeek(out var aqt) && TryAccept(aqt))
                _pendingAccepts.Dequeue();
            return;
        }
        if (_connecting)
            OnWritable();
        while (PendingPops.TryPeek(out var qt) && TryReceive(qt))
            PendingPops.Dequeue();
    }

    private bool TryReceive(ulong qt)
    {
        if (!TryRentReceiveBuffer(out var packet))
        {
            // Pool exhausted: degrade to a dedicated buffer rather than stall the pop.
            var large = Buffers.AllocateLarge(16 * 1024);
            int got = ReceiveInto((byte*)large.Pointer, large.Size, out int err);
            if (got < 0)
            {
                large.Release();
                if (err == Errno.EAGAIN)
                {
                    MayBeReadable = false;
                    return false;
                }
                Fail(qt, err);
                return true;
            }
            if (got > 0 && got < large.Size)
                MayBeReadable = false;
            CompletePop(qt, BufferManager.ToSga(large, got));
            return true;
        }
        int errno = 0;
        int n = _endOfStream ? 0 : ReceiveInto((byte*)packet.Address, packet.Pool.Capacity, out errno);
        if (n < 0)
        {
            packet.Release();
            if (errno == Errno.EAGAIN)
            {
                MayBeReadable = false;
                return false;
            }
            Fail(qt, errno);
            return true;
        }
        if (n == 0)
            _endOfStream = true;
        else if (n < packet.Pool.Capacity)
            MayBeReadable = false; // a short read drained the socket: the next edge says when more came
        packet.Length = n;
        CompletePop(qt, packet);
        return true;
    }

    private int ReceiveInto(byte* destination, int capacity, out int errno)
    {
        errno = 0;
        while (true)
        {
            // recv(2), not recvmsg: a busy shard makes this call on an idle connection over and over, and
            // the kernel's copy-in of a msghdr and its iovec would be much of an empty poll's cost.
            nint n = Libc.recvfrom(Fd, destination, (nuint)capacity, Libc.MSG_DONTWAIT, null, null);
            if (n >= 0)
                return (int)n;
            errno = Libc.LastErrno;
            if (errno != Errno.EINTR)
                return -1;
        }
    }

    protected internal override int Bind(Ipv4Endpoint local)
    {
        if (IsBound)
            return Errno.EINVAL;
        int inUse = KernelTcpBinds.Check(this, local);
        if (inUse != 0)
            return inUse;
        int err = base.Bind(local);
        if (err == 0 && GetSockName(out var bound) == 0)
            KernelTcpBinds.Add(this, bound);
        return err;
    }

    protected override void CancelOther()
    {
        KernelTcpBinds.Remove(this);
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
        if (_connecting)
        {
            Fail(_connectQt, Errno.ECANCELED);
            _connecting = false;
            _connectQt = 0;
        }
    }
}
