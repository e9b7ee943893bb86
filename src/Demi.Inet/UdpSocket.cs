using Demi.Buffers;
using Demi.Inet.Internal;

namespace Demi.Inet;

/// <summary>
/// A UDP socket of one <see cref="InetStack"/>. Single-threaded: use it only on the thread that polls
/// its stack. Payloads move by reference: a pushed <see cref="PacketBuffer"/> gets its headers written
/// in the headroom in front of it, and a popped one is a window onto the received frame.
/// </summary>
public sealed class UdpSocket : ISendCompletion
{
    /// <summary>Returned by a push that waits for address resolution; the outcome comes through <see cref="IUdpSocketObserver.OnPushCompleted"/>.</summary>
    public const int Pending = -1;

    private readonly UdpLayer _layer;
    private readonly PacketBuffer[] _queue;
    private readonly Ipv4Endpoint[] _sources;
    private int _head;
    private int _count;

    internal UdpSocket(UdpLayer layer, int queueLength)
    {
        _layer = layer;
        _queue = new PacketBuffer[queueLength];
        _sources = new Ipv4Endpoint[queueLength];
    }

    /// <summary>The bound local address and port (port 0 while unbound).</summary>
    public Ipv4Endpoint LocalEndpoint { get; internal set; }

    /// <summary>The connected peer, or null.</summary>
    public Ipv4Endpoint? RemoteEndpoint { get; private set; }

    /// <summary>Whether the socket has a local port.</summary>
    public bool IsBound => LocalEndpoint.Port != 0;

    /// <summary>Whether <see cref="Close"/> ran.</summary>
    public bool IsClosed { get; private set; }

    /// <summary>Datagrams waiting to be popped.</summary>
    public int Available => _count;

    /// <summary>Datagrams dropped because the receive queue was full.</summary>
    public long Overflows { get; private set; }

    /// <summary>
    /// A pending asynchronous error (ECONNREFUSED after an ICMP port unreachable from the connected peer),
    /// or 0. Read and cleared by <see cref="TakeError"/>.
    /// </summary>
    public int PendingError { get; private set; }

    /// <summary>Returns and clears <see cref="PendingError"/> (like SO_ERROR).</summary>
    public int TakeError()
    {
        int error = PendingError;
        PendingError = 0;
        return error;
    }

    /// <summary>
    /// <c>SO_REUSEADDR</c>, set before bind: sockets that all set it may bind the same port (as on Linux;
    /// a unicast datagram goes to the best match, the newest of equals).
    /// </summary>
    public bool ReuseAddress { get; set; }

    /// <summary>
    /// <c>SO_REUSEPORT</c>, set before bind: sockets that all set it may bind the same port on any shards,
    /// and a datagram goes to the one on the shard whose NIC queue received it (no steering), else to one
    /// picked by a hash of its source (see <see cref="FlowSteering"/>). On one shard the newest gets them.
    /// </summary>
    public bool ReusePort { get; set; }

    /// <summary>The next older socket of this stack bound to the same port (SO_REUSEADDR), or null.</summary>
    internal UdpSocket? NextOnPort { get; set; }

    /// <summary>Who hears about arrivals and late push outcomes.</summary>
    public IUdpSocketObserver? Observer { get; set; }

    /// <summary>
    /// Binds to our address or the wildcard, port 0 meaning a random free ephemeral port. Returns 0,
    /// EINVAL (already bound), EBADF (closed), EADDRNOTAVAIL (not our address) or EADDRINUSE.
    /// </summary>
    public int Bind(Ipv4Endpoint local) => IsClosed ? Errno.EBADF : _layer.Bind(this, local);

    /// <summary>
    /// Sets the default destination and accepts datagrams only from it (binding to an ephemeral port
    /// first if unbound). Returns 0, EBADF (closed), EINVAL (address or port zero) or EADDRINUSE (the
    /// implicit bind, to the wildcard, found no free ephemeral port).
    /// </summary>
    public int Connect(Ipv4Endpoint remote)
    {
        if (IsClosed)
            return Errno.EBADF;
        if (remote.Address.IsAny || remote.Port == 0)
            return Errno.EINVAL;
        if (!IsBound)
        {
            int err = _layer.Bind(this, new Ipv4Endpoint(Ipv4Address.Any, 0));
            if (err != 0)
                return err;
        }
        RemoteEndpoint = remote;
        return 0;
    }

    /// <summary>
    /// Sends <paramref name="payload"/> to <paramref name="destination"/>, binding an ephemeral port first if
    /// unbound. Always takes over the caller's reference on the buffer. Returns 0 (handed to the NIC),
    /// <see cref="Pending"/> (waiting for ARP; <paramref name="tag"/> comes back through the observer with 0,
    /// ETIMEDOUT, ENOBUFS or ECANCELED), or an errno: EINVAL (destination port 0 or address 0.0.0.0),
    /// EMSGSIZE, EHOSTUNREACH, ENETUNREACH, ENOBUFS, EADDRINUSE (no ephemeral port), EBADF (closed).
    /// A push that returned 0 whose frame the NIC then refuses is reported through the observer with ENOBUFS.
    /// </summary>
    public int PushTo(PacketBuffer payload, Ipv4Endpoint destination, ulong tag = 0)
    {
        if (IsClosed)
        {
            payload.Release();
            return Errno.EBADF;
        }
        return _layer.Send(this, payload, destination, tag);
    }

    /// <summary>Sends to the connected peer; EDESTADDRREQ when not connected. Otherwise as <see cref="PushTo"/>.</summary>
    public int Push(PacketBuffer payload, ulong tag = 0)
    {
        if (RemoteEndpoint is not { } remote)
        {
            payload.Release();
            return IsClosed ? Errno.EBADF : Errno.EDESTADDRREQ;
        }
        return PushTo(payload, remote, tag);
    }

    /// <summary>
    /// Takes the oldest received datagram: <paramref name="payload"/> is a window onto the frame (the
    /// caller now holds its reference) and <paramref name="source"/> the sender. False when none is queued.
    /// </summary>
    public bool TryPop(out PacketBuffer payload, out Ipv4Endpoint source)
    {
        if (_count == 0)
        {
            payload = default;
            source = default;
            return false;
        }
        payload = _queue[_head];
        source = _sources[_head];
        _queue[_head] = default;
        _head = _head + 1 == _queue.Length ? 0 : _head + 1;
        _count--;
        return true;
    }

    /// <summary>
    /// Unbinds, releases queued datagrams, cancels the pushes still waiting for ARP (they are never sent;
    /// each completes with ECANCELED through the observer) and refuses further operations.
    /// </summary>
    public void Close()
    {
        if (IsClosed)
            return;
        IsClosed = true;
        _layer.Unbind(this);
        _layer.CancelPending(this);
        while (TryPop(out var payload, out _))
            payload.Release();
    }

    internal bool Accepts(Ipv4Address source, ushort sourcePort, Ipv4Address destination)
    {
        // A socket bound to a unicast address does not see broadcasts; a connected one only hears its peer.
        if (!LocalEndpoint.Address.IsAny && LocalEndpoint.Address != destination)
            return false;
        return RemoteEndpoint is not { } remote || (remote.Address == source && remote.Port == sourcePort);
    }

    internal bool Enqueue(PacketBuffer payload, Ipv4Endpoint source)
    {
        if (_count == _queue.Length)
        {
            Overflows++;
            return false;
        }
        int tail = _head + _count;
        if (tail >= _queue.Length)
            tail -= _queue.Length;
        _queue[tail] = payload;
        _sources[tail] = source;
        _count++;
        Observer?.OnDatagram(this);
        return true;
    }

    internal void ReportError(int errno)
    {
        PendingError = errno;
        Observer?.OnError(this, errno);
    }

    void ISendCompletion.OnSendCompleted(ulong tag, int errno) => Observer?.OnPushCompleted(this, tag, errno);
}
