using Demi.Async;
using Orleans.Runtime;
using Orleans.Streams;

namespace Demi.Orleans;

/// <summary>
/// A Demi descriptor owned by one grain activation: created through <see cref="DemiGrainSockets"/>,
/// usable only from that activation's turns, and closed when it deactivates (or when disposed).
/// </summary>
public abstract class DemiGrainSocket : IDisposable
{
    private readonly IGrainContextAccessor _contexts;
    private int _disposed;

    private protected DemiGrainSocket(DemiQueue queue, IGrainContext owner, IGrainContextAccessor contexts)
    {
        Queue = queue;
        Owner = owner;
        _contexts = contexts;
    }

    /// <summary>The activation the descriptor belongs to.</summary>
    public IGrainContext Owner { get; }

    /// <summary>The queue descriptor (for diagnostics and the errno API).</summary>
    public int Qd => Queue.Qd;

    /// <summary>True once closed (disposed or its activation deactivated).</summary>
    public bool IsClosed => Volatile.Read(ref _disposed) != 0;

    private protected DemiQueue Queue { get; }

    private protected LibOS LibOS => Queue.LibOS;

    /// <summary>Throws unless called from the owning activation (a descriptor never crosses activations).</summary>
    private protected void CheckOwner()
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        if (!ReferenceEquals(_contexts.GrainContext, Owner))
            throw new InvalidOperationException($"Demi descriptor {Qd} belongs to activation {Owner.GrainId}; it cannot be used from {_contexts.GrainContext?.GrainId.ToString() ?? "outside a grain"}.");
    }

    private protected async Task PublishAsync(ReceivePump pump, IAsyncStream<DemiMessage> stream, CancellationToken cancellationToken)
    {
        long sequence = 0;
        await foreach (var item in pump.ReadAllAsync(cancellationToken))
        {
            DemiMessage message;
            using (item)
                message = new DemiMessage(item.ToArray(), item.From.ToString(), sequence++);
            await stream.OnNextAsync(message); // awaiting is the backpressure: the buffer fills, then drops (UDP) or stops popping (TCP)
        }
    }

    /// <summary>Closes the descriptor (pending operations end with ECANCELED) and frees what it buffered.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Queue.Dispose();
        OnClosed();
        GC.SuppressFinalize(this);
    }

    private protected abstract void OnClosed();
}

/// <summary>A UDP socket owned by a grain activation.</summary>
public sealed class DemiGrainUdpSocket : DemiGrainSocket
{
    private readonly DemiUdpSocket _udp;
    private readonly ReceivePump _pump;

    internal DemiGrainUdpSocket(DemiUdpSocket udp, IGrainContext owner, IGrainContextAccessor contexts, int capacity, int prefetch)
        : base(udp, owner, contexts)
    {
        _udp = udp;
        _pump = new ReceivePump(udp.LibOS, udp.Qd, stream: false, capacity, prefetch);
        LocalEndPoint = udp.LocalEndPoint;
        _pump.Start(udp.Completions);
    }

    /// <summary>The bound address.</summary>
    public Ipv4Endpoint LocalEndPoint { get; }

    /// <summary>Datagrams buffered for the grain so far.</summary>
    public long Received => _pump.Received;

    /// <summary>Datagrams dropped because the grain's buffer was full (the grain fell behind).</summary>
    public long Dropped => _pump.Dropped;

    /// <summary>
    /// The datagrams, in arrival order, on the grain's scheduler. Each is the grain's to dispose.
    /// Ends when the socket closes.
    /// </summary>
    public IAsyncEnumerable<DemiDatagram> ReceiveAllAsync(CancellationToken cancellationToken = default)
    {
        CheckOwner();
        return _pump.ReadAllAsync(cancellationToken);
    }

    /// <summary>Publishes every datagram to an Orleans stream (copied into <see cref="DemiMessage"/>) until the socket closes.</summary>
    public Task PublishToAsync(IAsyncStream<DemiMessage> stream, CancellationToken cancellationToken = default)
    {
        CheckOwner();
        return PublishAsync(_pump, stream, cancellationToken);
    }

    /// <summary>Sends <paramref name="data"/> to <paramref name="destination"/>.</summary>
    public async Task SendToAsync(ReadOnlyMemory<byte> data, Ipv4Endpoint destination, CancellationToken cancellationToken = default)
    {
        CheckOwner();
        var sga = _udp.Allocate(data.Span);
        try
        {
            await _udp.SendToAsync(sga, destination, cancellationToken);
        }
        finally
        {
            _udp.Free(sga);
        }
    }

    private protected override void OnClosed() => _pump.Discard();
}

/// <summary>A TCP connection owned by a grain activation.</summary>
public sealed class DemiGrainTcpConnection : DemiGrainSocket
{
    private readonly DemiTcpSocket _tcp;
    private readonly ReceivePump _pump;

    internal DemiGrainTcpConnection(DemiTcpSocket tcp, IGrainContext owner, IGrainContextAccessor contexts, int capacity)
        : base(tcp, owner, contexts)
    {
        _tcp = tcp;
        _pump = new ReceivePump(tcp.LibOS, tcp.Qd, stream: true, capacity, prefetch: 1);
        _pump.Start(tcp.Completions);
    }

    /// <summary>The peer.</summary>
    public Ipv4Endpoint RemoteEndPoint => _tcp.RemoteEndPoint;

    /// <summary>
    /// The received bytes in order, chunk by chunk, on the grain's scheduler; ends at the peer's end of
    /// stream. Never drops: when the grain falls behind, Demi stops reading and TCP flow control
    /// slows the peer. Each chunk is the grain's to dispose.
    /// </summary>
    public IAsyncEnumerable<DemiDatagram> ReceiveAllAsync(CancellationToken cancellationToken = default)
    {
        CheckOwner();
        return _pump.ReadAllAsync(cancellationToken);
    }

    /// <summary>Publishes the received bytes to an Orleans stream until end of stream.</summary>
    public Task PublishToAsync(IAsyncStream<DemiMessage> stream, CancellationToken cancellationToken = default)
    {
        CheckOwner();
        return PublishAsync(_pump, stream, cancellationToken);
    }

    /// <summary>Sends <paramref name="data"/>.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        CheckOwner();
        var sga = _tcp.Allocate(data.Span);
        try
        {
            await _tcp.PushAsync(sga, cancellationToken);
        }
        finally
        {
            _tcp.Free(sga);
        }
    }

    private protected override void OnClosed() => _pump.Discard();
}

/// <summary>A TCP listener owned by a grain activation; accepted connections belong to the same activation.</summary>
public sealed class DemiGrainTcpListener : DemiGrainSocket
{
    private readonly DemiTcpSocket _tcp;
    private readonly DemiGrainSockets _sockets;
    private readonly int _capacity;

    internal DemiGrainTcpListener(DemiTcpSocket tcp, IGrainContext owner, IGrainContextAccessor contexts, DemiGrainSockets sockets, int capacity)
        : base(tcp, owner, contexts)
    {
        _tcp = tcp;
        _sockets = sockets;
        _capacity = capacity;
        LocalEndPoint = tcp.LocalEndPoint;
    }

    /// <summary>The bound address.</summary>
    public Ipv4Endpoint LocalEndPoint { get; }

    /// <summary>Accepts the next connection (a cancelled accept loses no connection: the next call gets it).</summary>
    public async Task<DemiGrainTcpConnection> AcceptAsync(CancellationToken cancellationToken = default)
    {
        CheckOwner();
        var accepted = await _tcp.AcceptAsync(cancellationToken);
        return _sockets.Adopt(Owner, new DemiGrainTcpConnection(accepted, Owner, _sockets.Contexts, _capacity));
    }

    private protected override void OnClosed()
    {
    }
}
