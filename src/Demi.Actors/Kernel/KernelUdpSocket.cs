using Demi.Buffers;
using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>A UDP kernel socket: each pop is one datagram with its source address; each push one datagram.</summary>
internal sealed unsafe class KernelUdpSocket : KernelSocket
{
    /// <summary>Datagrams per sendmmsg call.</summary>
    private const int Batch = 32;

    private bool _connected;
    private bool _flushScheduled;
    private bool _waitingForRoom;

    public KernelUdpSocket(Shard shard, int fd)
        : base(shard, SocketConstants.SOCK_DGRAM, fd)
    {
    }

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
            int sent = Libc.sendmmsg(Fd, messages, (uint)count, Libc.MSG_DONTWAIT | Libc.MSG_NOSIGNAL);
            if (sent < 0)
            {
                int errno = Libc.LastErrno;
                if (errno == Errno.EAGAIN)
                {
                    _waitingForRoom = true; // EPOLLOUT resumes the flush
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

    protected override void OnWritable()
    {
        if (!_waitingForRoom)
            return;
        _waitingForRoom = false;
        Flush();
    }

    protected internal override void OnPop(ulong qt)
    {
        if (PendingPops.Count > 0 || !MayBeReadable || !TryReceive(qt))
            PendingPops.Enqueue(qt);
    }

    protected override void OnReadable()
    {
        while (PendingPops.TryPeek(out var qt) && TryReceive(qt))
            PendingPops.Dequeue();
    }

    // Receives one datagram for pop qt. The datagram lands in a pool buffer, spilling into the shard's
    // scratch area only when it is bigger than a pool buffer (then it is copied into a large buffer).
    private bool TryReceive(ulong qt)
    {
        bool pooled = TryRentReceiveBuffer(out var packet);
        int capacity = pooled ? packet.Pool.Capacity : 0;
        SockAddrIn from;
        var iov = stackalloc Libc.IoVec[2];
        iov[0] = pooled ? new Libc.IoVec { Base = (void*)packet.Address, Length = (nuint)capacity } : new Libc.IoVec { Base = Driver.Scratch, Length = KernelShardDriver.ScratchSize };
        iov[1] = new Libc.IoVec { Base = Driver.Scratch, Length = KernelShardDriver.ScratchSize };
        var msg = new Libc.MsgHdr { Name = &from, NameLength = SockAddrIn.Size, Iov = iov, IovLength = pooled ? 2u : 1u };
        nint n = Libc.recvmsg(Fd, &msg, Libc.MSG_DONTWAIT);
        if (n < 0)
        {
            int errno = Libc.LastErrno;
            if (pooled)
                packet.Release();
            if (errno == Errno.EAGAIN)
            {
                MayBeReadable = false;
                return false;
            }
            Fail(qt, errno);
            return true;
        }
        int length = (int)n;
        if (pooled && length <= capacity)
        {
            packet.Length = length;
            CompletePop(qt, BufferManager.ToSga(packet, from));
            return true;
        }
        var large = Buffers.AllocateLarge(Math.Max(length, 1));
        var destination = new Span<byte>((void*)large.Pointer, length);
        if (pooled)
        {
            packet.Pool.Whole(packet.Index).Slice(packet.Offset, capacity).CopyTo(destination);
            new Span<byte>(Driver.Scratch, length - capacity).CopyTo(destination[capacity..]);
            packet.Release();
        }
        else
        {
            new Span<byte>(Driver.Scratch, length).CopyTo(destination);
        }
        CompletePop(qt, BufferManager.ToSga(large, length, from));
        return true;
    }
}
