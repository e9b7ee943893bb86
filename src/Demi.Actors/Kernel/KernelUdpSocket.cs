using System.Runtime.CompilerServices;
using Demi.Buffers;
using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>A UDP kernel socket: each pop is one datagram with its source address; each push one datagram.</summary>
internal sealed unsafe class KernelUdpSocket : KernelSocket, IBusyPolledHandler
{
    /// <summary>Datagrams per sendmmsg call.</summary>
    private const int Batch = 32;

    /// <summary>Datagrams per recvmmsg call.</summary>
    internal const int ReceiveBatch = KernelShardDriver.OverflowAreas;

    /// <summary>
    /// Datagrams read from the kernel ahead of the app's pops, as the stack's UDP receive queue
    /// (<c>InetStackOptions.UdpReceiveQueueLength</c>) holds them; beyond this they wait in the kernel.
    /// </summary>
    internal const int ReadAheadLimit = 1024;

    private readonly Queue<Sga> _received = new();
    private readonly PacketBuffer[] _packets = new PacketBuffer[ReceiveBatch];
    private int _receiveError;
    private int _burstGuess = 2;
    // Set by a busy poll that found the socket empty: the next one probes with one datagram into the
    // shard's overflow area and rents nothing (an idle socket polled every round would otherwise rent
    // and return receive buffers ~10 times per datagram, and the pool would never read as at rest).
    // The price: the first datagram after an idle poll is copied into a pool buffer (ToSga); with one
    // message in flight that is every one, measured as a net gain (perf/README.md, eleventh set).
    private bool _probeNext;
    private bool _busyPolling;
    // Set by the first busy poll: the shard polls this socket every round it runs until it closes.
    private bool _polledEveryRound;

    private bool _connected;
    private bool _flushScheduled;
    private bool _waitingForRoom;

    public KernelUdpSocket(Shard shard, int fd)
        : base(shard, SocketConstants.SOCK_DGRAM, fd)
    {
    }

    /// <inheritdoc />
    protected override uint EpollEvents => ReadEvents;

    protected internal override int Listen(int backlog) => Errno.ENOTSUP;

    protected internal override void OnAccept(ulong qt) => Fail(qt, Errno.ENOTSUP);

    protected internal override void OnConnect(ulong qt, Ipv4Endpoint remote)
    {
        // Connecting a datagram socket only fixes its default peer; it completes at once.
        var addr = remote.ToSockAddr();
        if (Libc.connect(Fd, &addr, SockAddrIn.Size) != 0)
        {
            Fail(qt, Libc.LastErrno);
            return;
        }
        _connected = true;
        IsBound = true;
        CompleteConnect(qt);
    }

    protected internal override int GetPeerName(out Ipv4Endpoint peer)
    {
        peer = default;
        return Errno.ENOTSUP;
    }

    protected internal override void OnPush(in PushRequest request)
    {
        if (!request.HasDestination && !_connected)
        {
            CompletePush(request, Errno.EDESTADDRREQ);
            return;
        }
        PendingPushes.Enqueue(new PendingPush { Request = request });
        if (!_flushScheduled && !_waitingForRoom)
        {
            _flushScheduled = true;
            Driver.ScheduleFlush(this);
        }
    }

    /// <summary>Sends queued datagrams, up to <see cref="Batch"/> per sendmmsg call, until done or the kernel says EAGAIN.</summary>
    [SkipLocalsInit] // every header, iovec and address sent is written first: no 3 KB of zeroing per flush
    internal void Flush()
    {
        _flushScheduled = false;
        if (Fd < 0)
            return;
        var messages = stackalloc Libc.MMsgHdr[Batch];
        var iovs = stackalloc Libc.IoVec[Batch];
        var addresses = stackalloc SockAddrIn[Batch];
        while (PendingPushes.Count > 0)
        {
            int count = 0;
            foreach (var push in PendingPushes)
            {
                if (count == Batch)
                    break;
                var sga = push.Request.Sga;
                iovs[count] = new Libc.IoVec { Base = (void*)sga.Segment.Buffer, Length = sga.Segment.Length };
                bool addressed = push.Request.HasDestination && !_connected;
                addresses[count] = addressed ? push.Request.Destination.ToSockAddr() : default;
                messages[count] = new Libc.MMsgHdr
                {
                    Header = new Libc.MsgHdr { Name = addressed ? &addresses[count] : null, NameLength = addressed ? SockAddrIn.Size : 0u, Iov = &iovs[count], IovLength = 1 },
                };
                count++;
            }
            // One datagram (an echo with one message in flight) goes by sendto: the same send without
            // the kernel copying in and walking an mmsghdr and its iovec.
            int sent = count == 1
                ? SendOne(iovs[0], messages[0].Header.Name, messages[0].Header.NameLength)
                : Libc.sendmmsg(Fd, messages, (uint)count, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
            if (sent < 0)
            {
                int errno = Libc.LastErrno;
                if (errno == Errno.EAGAIN)
                {
                    _waitingForRoom = true;
                    WatchWritable(true); // EPOLLOUT resumes the flush
                    return;
                }
                if (errno == Errno.EINTR)
                    continue;
                CompletePush(PendingPushes.Dequeue().Request, errno); // the first datagram failed; go on with the rest
                continue;
            }
            IsBound = true;
            for (int i = 0; i < sent; i++)
                CompletePush(PendingPushes.Dequeue().Request);
        }
    }

    private int SendOne(in Libc.IoVec iov, void* address, uint addressLength)
        => Libc.sendto(Fd, iov.Base, iov.Length, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL, address, addressLength) < 0 ? -1 : 1;

    protected override void OnWritable()
    {
        if (!_waitingForRoom)
            return;
        _waitingForRoom = false;
        WatchWritable(false);
        Flush();
    }

    protected internal override void OnPop(ulong qt)
    {
        if (PendingPops.Count == 0)
        {
            // A pop posted with a push (an echo client's next request and its reply's pop) on a socket the
            // busy shard polls every round leaves the receive to that poll, later in this round: read here,
            // it would come before the round's flush sent the request, and find nothing.
            if (_received.Count == 0 && _receiveError == 0 && MayBeReadable && !(_polledEveryRound && _flushScheduled))
                ReceiveBurst();
            if (TryServe(qt))
                return;
        }
        PendingPops.Enqueue(qt);
    }

    protected override void OnReadable()
    {
        // Read ahead of the pops (up to ReadAheadLimit): the kernel's socket buffer is small and a burst
        // that outruns the app's pops would overflow it; here it waits in pool buffers instead.
        while (MayBeReadable && _receiveError == 0 && _received.Count < ReadAheadLimit)
        {
            bool probe = _probeNext;
            // A busy poll's probe that found a datagram stops there: it is served (and its echo sent) this
            // round, and the next round's poll reads on; an edge from epoll must read until drained.
            if (ReceiveBurst() == 0 || (probe && _busyPolling))
                break;
        }
        while (PendingPops.TryPeek(out var qt) && TryServe(qt))
            PendingPops.Dequeue();
    }

    /// <inheritdoc />
    public bool BusyPollable => true;

    /// <inheritdoc />
    public bool PollWhileBusy()
    {
        _polledEveryRound = true;
        int pushes = PendingPushes.Count, received = _received.Count, pops = PendingPops.Count;
        if (_waitingForRoom)
            OnWritable();
        if (_received.Count < ReadAheadLimit && _receiveError == 0)
        {
            MayBeReadable = true; // no edge to wait for: the fd is not in the epoll set while the shard is busy
            _busyPolling = true;
            try
            {
                OnReadable();
            }
            finally
            {
                _busyPolling = false;
            }
            _probeNext = _received.Count == received;
        }
        return PendingPushes.Count != pushes || _received.Count != received || PendingPops.Count != pops;
    }

    /// <summary>Completes pop <paramref name="qt"/> with the oldest datagram read ahead (or the error the kernel reported); false when there is none.</summary>
    private bool TryServe(ulong qt)
    {
        if (_received.TryDequeue(out var sga))
        {
            CompletePop(qt, sga);
            return true;
        }
        if (_receiveError != 0)
        {
            Fail(qt, _receiveError); // reported once, on the next pop, as recv(2) does
            _receiveError = 0;
            return true;
        }
        return false;
    }

    // One recvmmsg into pool buffers, up to ReceiveBatch datagrams. A datagram bigger than a pool buffer
    // spills into its own overflow area of the shard's scratch and is then copied into a large buffer.
    // Fewer datagrams than asked means the socket is drained: no second call just to hear EAGAIN.
    [SkipLocalsInit] // every header and iovec is written first and the kernel fills the addresses it returns: no 1.8 KB of zeroing per receive
    private int ReceiveBurst()
    {
        int want = _probeNext ? 0 : Math.Min(_burstGuess, ReadAheadLimit - _received.Count);
        _probeNext = false;
        var packets = _packets;
        int rented = 0;
        while (rented < want && TryRentReceiveBuffer(out packets[rented]))
            rented++;
        if (rented == 0)
            return ReceiveOne(); // a probe or an empty pool
        var messages = stackalloc Libc.MMsgHdr[ReceiveBatch];
        var iovs = stackalloc Libc.IoVec[2 * ReceiveBatch];
        var addresses = stackalloc SockAddrIn[ReceiveBatch];
        for (int i = 0; i < rented; i++)
        {
            int first = 2 * i;
            iovs[first] = new Libc.IoVec { Base = (void*)packets[i].Address, Length = (nuint)packets[i].Pool.Capacity };
            iovs[first + 1] = new Libc.IoVec { Base = Driver.OverflowArea(i), Length = KernelShardDriver.ScratchSize };
            messages[i] = new Libc.MMsgHdr
            {
                Header = new Libc.MsgHdr { Name = &addresses[i], NameLength = SockAddrIn.Size, Iov = &iovs[first], IovLength = 2 },
            };
        }
        int n = Libc.recvmmsg(Fd, messages, (uint)rented, Libc.MSG_DONTWAIT, null);
        if (n < 0)
        {
            NoteReceiveFailure();
            n = 0;
        }
        else if (n < rented)
        {
            MayBeReadable = false;
        }
        // Rent about what the last burst needed, plus one so that a short read proves the socket drained.
        _burstGuess = n == rented ? Math.Min(ReceiveBatch, 2 * rented) : Math.Max(2, n + 1);
        for (int i = 0; i < n; i++)
            _received.Enqueue(ToSga(packets[i], true, (int)messages[i].Length, Driver.OverflowArea(i), addresses[i]));
        for (int i = n; i < rented; i++)
            packets[i].Release();
        Array.Clear(packets, 0, rented);
        return n;
    }

    // A probe (or an empty pool) receives one datagram into the overflow area by recvfrom: the busy poll of
    // an idle socket makes this call over and over, and recvmmsg's copy-in and walk of an mmsghdr and its
    // iovec are most of an empty poll's cost; the sooner a poll ends, the sooner the next one sees a datagram.
    private int ReceiveOne()
    {
        byte* overflow = Driver.OverflowArea(0);
        SockAddrIn from;
        uint fromLength = SockAddrIn.Size;
        nint length = Libc.recvfrom(Fd, overflow, KernelShardDriver.ScratchSize, Libc.MSG_DONTWAIT, &from, &fromLength);
        _burstGuess = 2; // what a one-datagram receive always led the burst rule above to
        if (length < 0)
        {
            NoteReceiveFailure();
            return 0;
        }
        _received.Enqueue(ToSga(default, false, (int)length, overflow, from));
        return 1;
    }

    // EAGAIN: drained until the next edge or poll; EINTR: try again later; anything else is reported to the next pop.
    private void NoteReceiveFailure()
    {
        int errno = Libc.LastErrno;
        if (errno == Errno.EAGAIN)
            MayBeReadable = false;
        else if (errno != Errno.EINTR)
            _receiveError = errno;
    }

    private Sga ToSga(in PacketBuffer packet, bool pooled, int length, byte* overflow, in SockAddrIn from)
    {
        int capacity = pooled ? packet.Pool.Capacity : 0;
        if (pooled && length <= capacity)
        {
            var received = packet;
            received.Length = length;
            return BufferManager.ToSga(received, from);
        }
        if (!pooled && length <= Buffers.Pool.Capacity && TryRentReceiveBuffer(out var copy))
        {
            new Span<byte>(overflow, length).CopyTo(new Span<byte>((void*)copy.Address, length));
            copy.Length = length;
            return BufferManager.ToSga(copy, from);
        }
        var large = Buffers.AllocateLarge(Math.Max(length, 1));
        var destination = new Span<byte>((void*)large.Pointer, length);
        if (pooled)
        {
            packet.Pool.Whole(packet.Index).Slice(packet.Offset, capacity).CopyTo(destination);
            new Span<byte>(overflow, length - capacity).CopyTo(destination[capacity..]);
            packet.Release();
        }
        else
        {
            new Span<byte>(overflow, length).CopyTo(destination);
        }
        return BufferManager.ToSga(large, length, from);
    }

    protected internal override void OnClose()
    {
        // Datagrams read ahead that no pop took are the app's loss, as a kernel socket's queue would be on close.
        while (_received.TryDequeue(out var sga))
        {
            if (Buffers.TryResolve(sga.Handle, out var buffer))
                buffer.Release();
        }
        base.OnClose();
    }
}
