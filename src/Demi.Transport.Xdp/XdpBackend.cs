using System.Numerics;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;
using Demi.Runtime;

namespace Demi.Transport.Xdp;

/// <summary>
/// The libOS over AF_XDP: one <see cref="XdpNicQueue"/> per shard (shard <c>i</c> on queue
/// <c>FirstQueue + i</c> of one interface), all sharing one <see cref="XdpUmem"/> so that a buffer
/// from <c>SgaAlloc</c> is a UMEM frame any shard can transmit as is; the user-space stack
/// (<see cref="InetBackend"/>) runs on each queue.
/// </summary>
public sealed class XdpBackend : INetworkBackend, ISocketBindingObserver
{
    private readonly XdpUmem _umem;
    private readonly XdpNicQueue[] _queues;
    private readonly InetBackend _inet;
    private int _disposed;
    // Bind/close bookkeeping for steering claims (control path only).
    private readonly Dictionary<(byte Protocol, ushort Port, int Shard), int> _claims = [];
    private readonly Dictionary<SocketActor, (byte, ushort, int)> _claimedBy = new(ReferenceEqualityComparer.Instance);

    private XdpBackend(XdpUmem umem, XdpNicQueue[] queues, InetBackend inet, FlowSteering? steering)
    {
        _umem = umem;
        _queues = queues;
        _inet = inet;
        Steering = steering;
    }

    /// <summary>
    /// Opens <paramref name="queueCount"/> AF_XDP sockets on <paramref name="queue"/>'s interface,
    /// starting at its <see cref="XdpQueueOptions.QueueId"/>, and a stack per queue configured by
    /// <paramref name="stack"/> (called with the shard index). With several queues and
    /// <paramref name="steering"/> (the default), frames that land on a shard not owning their flow
    /// are steered in software to the owner (see <see cref="FlowSteering"/>).
    /// </summary>
    public static XdpBackend Create(XdpQueueOptions queue, Func<int, InetStackOptions> stack, int queueCount = 1, bool steering = true)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        var umem = new XdpUmem(queue.FrameCount, queue.FrameSize, queue.Headroom, queue.FillSize, queue.FillSize, queue.NetworkNamespace);
        var queues = new List<XdpNicQueue>();
        try
        {
            for (int i = 0; i < queueCount; i++)
            {
                var options = new XdpQueueOptions
                {
                    Interface = queue.Interface,
                    QueueId = queue.QueueId + i,
                    NetworkNamespace = queue.NetworkNamespace,
                    Mode = queue.Mode,
                    RxSize = queue.RxSize,
                    TxSize = queue.TxSize,
                    NeedWakeup = queue.NeedWakeup,
                    RemoveStaleProgram = queue.RemoveStaleProgram,
                    CompletePartialChecksums = queue.CompletePartialChecksums,
                    // Leave half of the shared frames to the app and the stacks' transmissions.
                    FillTarget = queue.FillTarget > 0 ? queue.FillTarget : Math.Max(1, queue.FrameCount / (2 * queueCount)),
                };
                queues.Add(XdpNicQueue.Open(options, umem));
            }
            INicQueue[] nics = queues.Cast<INicQueue>().ToArray();
            FlowSteering? flowSteering = null;
            if (steering && queueCount > 1)
            {
                // Rings sized like an RX ring: a burst of a busy owner's worth of frames in flight.
                flowSteering = new FlowSteering(queueCount, (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)queue.RxSize), 4096));
                for (int i = 0; i < nics.Length; i++)
                    nics[i] = flowSteering.Attach(i, nics[i]);
            }
            var inet = new InetBackend(nics, stack, ownsQueues: true);
            return new XdpBackend(umem, queues.ToArray(), inet, flowSteering);
        }
        catch
        {
            foreach (var q in queues)
                q.Dispose();
            umem.Dispose();
            throw;
        }
    }

    /// <summary>A one-shard backend on one queue with one stack configuration.</summary>
    public static XdpBackend Create(XdpQueueOptions queue, InetStackOptions stack) => Create(queue, _ => stack, 1);

    /// <summary>"xdp".</summary>
    public string Name => "xdp";

    /// <summary>The shared UMEM's pool: <c>SgaAlloc</c> hands out UMEM frames.</summary>
    public BufferPool? BufferPool => _umem.Pool;

    /// <summary>The AF_XDP queues, by shard index.</summary>
    public IReadOnlyList<XdpNicQueue> Queues => _queues;

    /// <summary>Software steering across the shards (null with one queue or when turned off).</summary>
    public FlowSteering? Steering { get; }

    /// <summary>The user-space stack backend underneath.</summary>
    public InetBackend Inet => _inet;

    /// <summary>Provider of SOCK_STREAM sockets (the TCP layer); see <see cref="InetBackend.StreamTransport"/>.</summary>
    public IInetTransportFactory? StreamTransport
    {
        get => _inet.StreamTransport;
        set => _inet.StreamTransport = value;
    }

    /// <inheritdoc/>
    public IShardDriver CreateDriver(Shard shard) => _inet.CreateDriver(shard);

    /// <inheritdoc/>
    public int CreateSocket(Shard shard, int type, out SocketActor? socket) => _inet.CreateSocket(shard, type, out socket);

    /// <summary>A bound socket's port is steered to its shard, so servers need no explicit claim.</summary>
    void ISocketBindingObserver.OnBound(SocketActor socket)
    {
        if (Steering is null || socket.GetSockName(out var local) != 0 || local.Port == 0)
            return;
        var key = (ProtocolOf(socket), local.Port, socket.Shard.Id);
        lock (_claims)
        {
            _claimedBy[socket] = key;
            _claims[key] = _claims.GetValueOrDefault(key) + 1;
        }
        Steering.Claim(key.Item1, key.Item2, key.Item3);
    }

    /// <summary>
    /// Withdraws the claim of a socket that made one (not of accepted connections, which share their
    /// listener's port) once no other bound socket of that shard holds the port.
    /// </summary>
    void ISocketBindingObserver.OnClosing(SocketActor socket)
    {
        if (Steering is null)
            return;
        (byte, ushort, int) key;
        lock (_claims)
        {
            if (!_claimedBy.Remove(socket, out key))
                return;
            int left = _claims[key] - 1;
            if (left > 0)
            {
                _claims[key] = left;
                return;
            }
            _claims.Remove(key);
        }
        Steering.Unclaim(key.Item1, key.Item2, key.Item3);
    }

    private static byte ProtocolOf(SocketActor socket) => socket.SocketType == SocketConstants.SOCK_STREAM ? (byte)6 : (byte)17;

    /// <summary>Closes the sockets (detaching the XDP program) and frees the UMEM.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        _inet.Dispose();
        Steering?.Dispose();
        _umem.Dispose();
    }
}
