using Demi.Buffers;
using Demi.Inet.Internal;
using Demi.Inet.Nic;
using Demi.Runtime;

namespace Demi.Inet;

/// <summary>
/// Runs the libOS's sockets on the user-space stack: shard <c>i</c> gets an <see cref="InetStack"/> on
/// NIC queue <c>i</c>. UDP sockets are built in; TCP comes from <see cref="StreamTransport"/>.
/// SgaAlloc hands out buffers of queue 0's pool, so pushes of them are zero-copy.
/// </summary>
/// <remarks>
/// With several queues the stacks share one <see cref="PortSpace"/> (binds conflict across shards,
/// ephemeral ports name their shard, a TCP listener accepts on every shard) and, unless turned off,
/// one <see cref="FlowSteering"/> that moves each received frame to the shard owning its flow. That
/// is all a transport needs to be multi-core: open one <see cref="INicQueue"/> per queue (frames of
/// one pool all shards can transmit from) and hand them here.
/// </remarks>
public sealed class InetBackend : INetworkBackend
{
    /// <summary>Frames each steering ring holds by default.</summary>
    public const int DefaultSteeringRingCapacity = 1024;

    private readonly INicQueue[] _queues;
    private readonly INicQueue[] _ownedQueues;
    private readonly Func<int, InetStackOptions> _options;
    private readonly bool _ownsQueues;
    private ArpCache? _sharedArpCache;

    /// <summary>
    /// Creates a backend over <paramref name="queues"/> (one per shard), each stack configured by
    /// <paramref name="options"/>. With more than one queue and <paramref name="steering"/>, frames are
    /// steered between the shards in software (rings of <paramref name="steeringRingCapacity"/> frames).
    /// </summary>
    /// <remarks>Stacks whose options leave <see cref="InetStackOptions.ArpCache"/> null share one cache (same interface).</remarks>
    public InetBackend(IReadOnlyList<INicQueue> queues, Func<int, InetStackOptions> options, bool ownsQueues = false,
        bool steering = true, int steeringRingCapacity = DefaultSteeringRingCapacity)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(options);
        if (queues.Count == 0)
            throw new ArgumentException("At least one NIC queue is needed.", nameof(queues));
        _ownedQueues = queues.ToArray();
        _queues = queues.ToArray();
        _options = options;
        _ownsQueues = ownsQueues;
        Ports = new PortSpace(_queues.Length);
        if (steering && _queues.Length > 1)
        {
            Steering = new FlowSteering(Ports, steeringRingCapacity);
            for (int i = 0; i < _queues.Length; i++)
                _queues[i] = Steering.Attach(i, _queues[i]);
        }
    }

    /// <summary>A backend with one NIC queue (one shard).</summary>
    public InetBackend(INicQueue queue, InetStackOptions options, bool ownsQueues = false)
        : this([queue], _ => options, ownsQueues)
    {
    }

    /// <summary>The port space all shards' stacks bind in.</summary>
    public PortSpace Ports { get; }

    /// <summary>Software steering between the shards (null with one queue or when turned off).</summary>
    public FlowSteering? Steering { get; }

    /// <summary>Number of NIC queues (one shard each).</summary>
    public int QueueCount => _queues.Length;

    public string Name => "inet";

    public BufferPool? BufferPool => _queues[0].Pool;

    /// <summary>Provider of SOCK_STREAM sockets (the TCP layer); null makes them EPROTONOSUPPORT.</summary>
    public IInetTransportFactory? StreamTransport { get; set; }

    /// <summary>The stack of <paramref name="shard"/> (null before the shard started). Use it only on the shard's thread.</summary>
    public static InetStack? StackOf(Shard shard) => (shard.Driver as InetShardDriver)?.Stack;

    /// <summary>The transport handler of <paramref name="shard"/> created by <see cref="StreamTransport"/>, if any.</summary>
    public static IIpProtocolHandler? HandlerOf(Shard shard) => (shard.Driver as InetShardDriver)?.TransportHandler;

    public IShardDriver CreateDriver(Shard shard)
    {
        if (shard.Id >= _queues.Length)
            throw new InvalidOperationException($"Shard {shard.Id} has no NIC queue ({_queues.Length} given).");
        var options = _options(shard.Id).Clone(); // per shard: the port shard differs
        options.PortSpace = Ports;
        options.PortShard = shard.Id;
        if (options.ArpCache is null)
        {
            lock (_queues)
                options.ArpCache = _sharedArpCache ??= new ArpCache(options.ArpCacheCapacity);
        }
        if (options.CapturePath is { } path && _queues.Length > 1)
        {
            // One capture file per shard: the stacks run on different threads.
            options.CapturePath = Path.ChangeExtension(path, null) + $".shard{shard.Id}" + (Path.GetExtension(path) is { Length: > 0 } ext ? ext : ".pcap");
        }
        Steering?.AttachShard(shard.Id, shard);
        return new InetShardDriver(shard, _queues[shard.Id], options, StreamTransport, Steering);
    }

    public int CreateSocket(Shard shard, int type, out SocketActor? socket)
    {
        socket = null;
        if (type == SocketConstants.SOCK_DGRAM)
        {
            socket = new InetUdpSocketActor(shard);
            return 0;
        }
        if (type == SocketConstants.SOCK_STREAM && StreamTransport is { } tcp)
            return tcp.CreateSocket(shard, out socket);
        return Errno.EPROTONOSUPPORT;
    }

    public void Dispose()
    {
        if (Steering is not null)
        {
            // The steered views release frames still in flight between shards, then dispose their queue.
            foreach (var queue in _queues)
                if (_ownsQueues)
                    queue.Dispose();
                else
                    ((SteeringNicQueue)queue).ReleasePending();
            Steering.Dispose();
        }
        else if (_ownsQueues)
        {
            foreach (var queue in _ownedQueues)
                queue.Dispose();
        }
    }
}
