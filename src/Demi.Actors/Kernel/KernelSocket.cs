using Demi.Buffers;
using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>
/// What UDP and TCP kernel sockets share: the fd in the shard's epoll set (edge-triggered),
/// queues of pending pops and pushes that readiness drains, bind, options and close.
/// </summary>
internal abstract unsafe class KernelSocket : SocketActor, IEpollHandler
{
    private int _registration = -1;

    protected KernelSocket(Shard shard, int socketType, int fd)
        : base(shard, socketType)
    {
        Fd = fd;
    }

    protected internal int Fd { get; private set; }

    protected bool IsBound { get; set; }

    protected Queue<ulong> PendingPops { get; } = new();

    protected Queue<PendingPush> PendingPushes { get; } = new();

    /// <inheritdoc />
    protected internal override bool HasUnsentData => PendingPushes.Count > 0;

    protected BufferManager Buffers => LibOS.Buffers;

    protected KernelShardDriver Driver => (KernelShardDriver)Shard.Driver!;

    /// <summary>Edge-triggered readiness for receives and hang-ups; <see cref="Libc.EPOLLOUT"/> is added by <see cref="EpollEvents"/>.</summary>
    protected const uint ReadEvents = Libc.EPOLLIN | Libc.EPOLLRDHUP | Libc.EPOLLET;

    /// <summary>
    /// The events the fd is registered for. TCP watches room to send all the time (the kernel reports it
    /// only after a send found none); UDP only while a push waits for room (<see cref="WatchWritable"/>):
    /// a UDP socket is writable again after every datagram it sends, and watching that would cost an
    /// epoll wake-up per datagram.
    /// </summary>
    protected virtual uint EpollEvents => ReadEvents | Libc.EPOLLOUT;

    protected internal override void OnAttached()
        => _registration = Shard.RegisterFd(Fd, EpollEvents, this);

    /// <summary>Asks the shard to poll this socket itself while busy (see <see cref="IBusyPolledHandler"/>), now that it may be.</summary>
    protected void BusyPollSocket()
    {
        if (_registration >= 0)
            Shard.BusyPollFd(_registration, Fd, EpollEvents);
    }

    /// <summary>
    /// Watches (or stops watching) the fd for room to send, for a socket whose <see cref="EpollEvents"/>
    /// leave it out. Added while there is room, the edge is reported at once, so nothing is missed.
    /// </summary>
    protected void WatchWritable(bool watch)
    {
        if (_registration < 0)
            return;
        int errno = Shard.ModifyFd(_registration, Fd, watch ? EpollEvents | Libc.EPOLLOUT : EpollEvents);
        if (errno != 0)
            throw new DemiException(errno, $"epoll_ctl MOD failed: {Errno.Name(errno)}");
    }

    /// <summary>
    /// False once a receive said EAGAIN, until epoll reports the fd readable again (edge-triggered):
    /// a pop posted meanwhile waits for that edge instead of paying for a receive that cannot succeed.
    /// </summary>
    protected bool MayBeReadable { get; set; } = true;

    public void OnReady(uint events)
    {
        if ((events & (Libc.EPOLLOUT | Libc.EPOLLERR | Libc.EPOLLHUP)) != 0)
            OnWritable();
        if ((events & (Libc.EPOLLIN | Libc.EPOLLERR | Libc.EPOLLHUP | Libc.EPOLLRDHUP)) != 0)
        {
            MayBeReadable = true;
            OnReadable();
        }
    }

    /// <summary>The fd may have data (or a connection, or an error): serve pending pops/accepts.</summary>
    protected abstract void OnReadable();

    /// <summary>The fd may accept more bytes: serve pending pushes/connects.</summary>
    protected abstract void OnWritable();

    protected internal override int Bind(Ipv4Endpoint local)
    {
        if (IsBound)
            return Errno.EINVAL;
        var addr = local.ToSockAddr();
        if (Libc.bind(Fd, &addr, SockAddrIn.Size) != 0)
            return Libc.LastErrno;
        IsBound = true;
        return 0;
    }

    protected internal override int GetSockName(out Ipv4Endpoint local)
    {
        SockAddrIn addr;
        uint len = SockAddrIn.Size;
        local = default;
        if (Libc.getsockname(Fd, &addr, &len) != 0)
            return Libc.LastErrno;
        local = addr.Endpoint;
        return 0;
    }

    protected internal override int SetOption(int level, int name, ReadOnlySpan<byte> value)
    {
        int required = RequiredOptionLength(level, name);
        if (required < 0)
            return UnsupportedOption(level);
        if (value.Length < required)
            return Errno.EINVAL;
        fixed (byte* p = value)
            return Libc.setsockopt(Fd, level, name, p, (uint)required) == 0 ? 0 : Libc.LastErrno;
    }

    protected internal override int GetOption(int level, int name, Span<byte> value, out int length)
    {
        length = 0;
        int required = RequiredOptionLength(level, name);
        if (required < 0)
            return UnsupportedOption(level);
        if (value.Length < required)
            return Errno.EINVAL;
        uint len = (uint)required;
        fixed (byte* p = value)
        {
            if (Libc.getsockopt(Fd, level, name, p, &len) != 0)
                return Libc.LastErrno;
        }
        length = (int)len;
        return 0;
    }

    // An unknown level is ENOTSUP; an unknown option at a level Demi knows is ENOPROTOOPT (the man pages' split).
    private static int UnsupportedOption(int level)
        => SocketConstants.IsSupportedOptionLevel(level) ? Errno.ENOPROTOOPT : Errno.ENOTSUP;

    // The options Demi supports (Demikernel's SO_LINGER plus those its man pages name); the rest are ENOPROTOOPT.
    private int RequiredOptionLength(int level, int name) => (level, name) switch
    {
        (SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER) => 8,
        (SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE) => sizeof(int),
        (SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEADDR) => sizeof(int),
        (SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT) when SocketType == SocketConstants.SOCK_DGRAM => sizeof(int),
        (SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY) when SocketType == SocketConstants.SOCK_STREAM => sizeof(int),
        _ => -1,
    };

    /// <summary>Rents a pool buffer for received data; false when the pool is exhausted.</summary>
    protected bool TryRentReceiveBuffer(out PacketBuffer buffer) => PacketBuffer.TryRent(Buffers.Pool, out buffer);

    // The kernel sends what it accepted after close (a FIN, never a RST: no linger is set unless the
    // app sets it); only pushes still waiting for room in its buffer (HasUnsentData) would be lost.
    protected internal override void OnClose()
    {
        while (PendingPops.TryDequeue(out var qt))
            Fail(qt, Errno.ECANCELED);
        while (PendingPushes.TryDequeue(out var push))
            CompletePush(push.Request, Errno.ECANCELED);
        CancelOther();
        if (_registration >= 0)
            Shard.UnregisterFd(_registration, Fd);
        _registration = -1;
        Libc.close(Fd);
        Fd = -1;
    }

    /// <summary>
    /// Unregisters and closes the socket's fd and adopts the one <paramref name="open"/> makes (registered in
    /// the shard's epoll set); <paramref name="open"/> runs in between, so that it can bind the address
    /// the old fd held. Returns what <paramref name="open"/> returned (an fd, or -1: then the old fd is
    /// gone and a fresh unbound socket takes its place).
    /// </summary>
    protected int ReplaceFd(Func<int> open)
    {
        if (_registration >= 0)
            Shard.UnregisterFd(_registration, Fd);
        _registration = -1;
        Libc.close(Fd);
        int fd = open();
        Fd = fd >= 0 ? fd : Libc.socket(SocketConstants.AF_INET, SocketType | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (Fd >= 0)
            _registration = Shard.RegisterFd(Fd, EpollEvents, this);
        return fd;
    }

    /// <summary>Cancels operations kept by the subclass (accepts, connects).</summary>
    protected virtual void CancelOther()
    {
    }

    /// <summary>A push waiting for room in the kernel's send buffer.</summary>
    protected struct PendingPush
    {
        public PushRequest Request;
    }
}
