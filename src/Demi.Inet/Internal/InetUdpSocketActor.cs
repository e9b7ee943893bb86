using Demi.Buffers;
using Demi.Runtime;

namespace Demi.Inet.Internal;

/// <summary>
/// A UDP queue descriptor on the user-space stack: the runtime's actor in front of a <see cref="UdpSocket"/>
/// of the owning shard's <see cref="InetStack"/>. Runs only on the shard thread.
/// </summary>
internal sealed class InetUdpSocketActor : SocketActor, IUdpSocketObserver
{
    // Frame bytes in front of a UDP payload: Ethernet + IPv4 + UDP.
    private const int HeaderBytes = InetStack.LinkAndIpHeaderRoom + Headers.UdpHeader.HeaderLength;

    private readonly Queue<ulong> _pendingPops = new(64);
    // Pushes waiting for ARP, by the actor's own tag: qt cannot be the key (fire-and-forget pushes all have qt 0).
    private readonly Dictionary<ulong, PendingPush> _pendingPushes = new(64);

    /// <inheritdoc />
    protected internal override bool HasUnsentData => _pendingPushes.Count > 0;
    private ulong _lastTag;
    private InetShardDriver? _driver;
    private UdpSocket? _socket;

    public InetUdpSocketActor(Shard shard)
        : base(shard, SocketConstants.SOCK_DGRAM)
    {
    }

    protected internal override void OnAttached()
    {
        _driver = (InetShardDriver)Shard.Driver!;
        _socket = _driver.Stack.CreateUdpSocket();
        _socket.Observer = this;
    }

    protected internal override int Bind(Ipv4Endpoint local) => _socket!.Bind(local);

    protected internal override int Listen(int backlog) => Errno.ENOTSUP;

    protected internal override void OnAccept(ulong qt) => Fail(qt, Errno.ENOTSUP);

    protected internal override void OnConnect(ulong qt, Ipv4Endpoint remote)
    {
        int err = _socket!.Connect(remote);
        if (err != 0)
            Fail(qt, err);
        else
            CompleteConnect(qt);
    }

    /// <summary>SO_REUSEADDR and SO_REUSEPORT (before bind, as on Linux); other options as <see cref="SocketActor"/> says.</summary>
    protected internal override int SetOption(int level, int name, ReadOnlySpan<byte> value)
    {
        if (level != SocketConstants.SOL_SOCKET || name is not (SocketConstants.SO_REUSEADDR or SocketConstants.SO_REUSEPORT))
            return base.SetOption(level, name, value);
        if (value.Length < sizeof(int))
            return Errno.EINVAL;
        bool on = BitConverter.ToInt32(value) != 0;
        if (name == SocketConstants.SO_REUSEADDR)
            _socket!.ReuseAddress = on;
        else
            _socket!.ReusePort = on;
        return 0;
    }

    /// <inheritdoc cref="SetOption"/>
    protected internal override int GetOption(int level, int name, Span<byte> value, out int length)
    {
        if (level != SocketConstants.SOL_SOCKET || name is not (SocketConstants.SO_REUSEADDR or SocketConstants.SO_REUSEPORT))
            return base.GetOption(level, name, value, out length);
        length = 0;
        if (value.Length < sizeof(int))
            return Errno.EINVAL;
        bool on = name == SocketConstants.SO_REUSEADDR ? _socket!.ReuseAddress : _socket!.ReusePort;
        BitConverter.TryWriteBytes(value, on ? 1 : 0);
        length = sizeof(int);
        return 0;
    }

    protected internal override int GetPeerName(out Ipv4Endpoint peer)
    {
        peer = default;
        return Errno.ENOTSUP;
    }

    protected internal override int GetSockName(out Ipv4Endpoint local)
    {
        local = _socket!.LocalEndpoint;
        return 0;
    }

    protected internal override void OnPush(in PushRequest request)
    {
        var socket = _socket!;
        Ipv4Endpoint destination;
        if (request.HasDestination)
            destination = request.Destination;
        else if (socket.RemoteEndpoint is { } remote)
            destination = remote;
        else
        {
            CompletePush(request, Errno.EDESTADDRREQ);
            return;
        }
        var stack = _driver!.Stack;
        var sga = request.Sga;
        PacketBuffer packet;
        // Zero-copy when the app's buffer is a frame of the NIC pool with room for headers and no other
        // push of it is in flight (the app's reference + this push's = 2); otherwise copy into a frame.
        if (request.Buffer.TryGetPacket(sga, out packet) && packet.Pool == stack.Pool
            && packet.HeadroomLeft >= HeaderBytes && packet.Pool.RefCount(packet.Index) <= 2)
        {
            // The push's reference goes to the stack.
        }
        else
        {
            if (!PacketBuffer.TryRent(stack.Pool, out packet))
            {
                CompletePush(request, Errno.ENOBUFS);
                return;
            }
            if (sga.Length > packet.TailroomLeft)
            {
                packet.Release();
                CompletePush(request, Errno.EMSGSIZE);
                return;
            }
            sga.Span.CopyTo(packet.Append(sga.Length));
            request.Buffer.Release(); // copied: the app's buffer is no longer needed
        }
        ulong tag = ++_lastTag;
        int result = socket.PushTo(packet, destination, tag);
        if (result == UdpSocket.Pending)
        {
            _pendingPushes[tag] = new PendingPush(request.Qt, sga);
            return;
        }
        _driver.DeferPush(this, tag, request.Qt, sga, result);
    }

    public void OnPushCompleted(UdpSocket socket, ulong tag, int errno)
    {
        if (_pendingPushes.Remove(tag, out var pending))
            _driver!.DeferPush(this, tag, pending.Qt, pending.Sga, errno);
        else if (errno != 0)
            _driver!.FailDeferred(this, tag, errno); // a push that returned 0 whose frame the NIC refused
    }

    internal void PublishPush(ulong qt, in Sga sga, int errno) => Complete(PushResult(qt, sga, errno));

    // A failed push still names its sga (as QueueActor.CompletePush does) so that fire-and-forget callers can free it.
    private QResult PushResult(ulong qt, in Sga sga, int errno) => new()
    {
        Opcode = errno == 0 ? Opcode.Push : Opcode.Failed, Ret = errno, Qd = Qd, Qt = qt, Sga = sga,
    };

    private readonly record struct PendingPush(ulong Qt, Sga Sga);

    protected internal override void OnPop(ulong qt)
    {
        if (_pendingPops.Count == 0 && TryDeliver(qt))
            return;
        _pendingPops.Enqueue(qt);
    }

    public void OnDatagram(UdpSocket socket)
    {
        while (_pendingPops.TryPeek(out var qt) && TryDeliver(qt))
            _pendingPops.Dequeue();
    }

    public void OnError(UdpSocket socket, int errno)
    {
        // Like recv(2) on a connected Linux UDP socket: the next pop fails with the error.
        if (_pendingPops.TryDequeue(out var qt))
            Fail(qt, socket.TakeError());
    }

    private bool TryDeliver(ulong qt)
    {
        if (_socket!.PendingError != 0 && _socket.Available == 0)
        {
            Fail(qt, _socket.TakeError());
            return true;
        }
        if (!_socket!.TryPop(out var payload, out var source))
            return false;
        var buffers = LibOS.Buffers;
        if (payload.Pool == buffers.Pool)
        {
            // The frame itself becomes the app's buffer: no copy.
            CompletePop(qt, payload, source.ToSockAddr());
            return true;
        }
        // A frame of another shard's pool: copy into the libOS's memory so SgaFree can resolve it.
        var sga = buffers.Allocate(Math.Max(1, payload.Length));
        if (!sga.IsAllocated)
        {
            payload.Release();
            Fail(qt, Errno.ENOMEM);
            return true;
        }
        payload.Span.CopyTo(sga.Span);
        sga.Segment.Length = (uint)payload.Length;
        sga.Address = source.ToSockAddr();
        payload.Release();
        CompletePop(qt, sga);
        return true;
    }

    protected internal override void OnClose()
    {
        while (_pendingPops.TryDequeue(out var qt))
            Fail(qt, Errno.ECANCELED);
        foreach (var (_, pending) in _pendingPushes)
            Complete(PushResult(pending.Qt, pending.Sga, Errno.ECANCELED));
        _pendingPushes.Clear();
        // Also releases the packets still waiting for ARP, so that cancelled pushes are never sent.
        _socket?.Close();
    }
}
