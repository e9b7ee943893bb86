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
public sealed class InetBackend : INetworkBackend
{
    private readonly INicQueue[] _queues;
    private readonly Func<int, InetStackOptions> _options;
    private readonly bool _ownsQueues;
    private ArpCache? _sharedArpCache;

    /// <summary>Creates a backend over <paramref name="queues"/> (one per shard), each stack configured by <paramref name="options"/>.</summary>
    /// <remarks>Stacks whose options leave <see cref="InetStackOptions.ArpCache"/> null share one cache (same interface).</remarks>
    public InetBackend(IReadOnlyList<INicQueue> queues, Func<int, InetStackOptions> options, bool ownsQueues = false)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(options);
        if (queues.Count == 0)
            throw new ArgumentException("At least one NIC queue is needed.", nameof(queues));
        _queues = queues.ToArray();
        _options = options;
        _ownsQueues = ownsQueues;
    }

    /// <summary>A backend with one NIC queue (one shard).</summary>
    public InetBackend(INicQueue queue, InetStackOptions options, bool ownsQueues = false)
        : this([queue], _ => options, ownsQueues)
    {
    }

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
        var options = _options(shard.Id);
        if (options.ArpCache is null)
        {
            lock (_queues)
                options.ArpCache = _sharedArpCache ??= new ArpCache(options.ArpCacheCapacity);
        }
        if (options.CapturePath is { } path && _queues.Length > 1)
        {
            // One capture file per shard: the stacks run on different threads.
            options = options.Clone();
            options.CapturePath = Path.ChangeExtension(path, null) + $".shard{shard.Id}" + (Path.GetExtension(path) is { Length: > 0 } ext ? ext : ".pcap");
        }
        return new InetShardDriver(shard, _queues[shard.Id], options, StreamTransport);
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
        if (_ownsQueues)
            foreach (var queue in _queues)
                queue.Dispose();
    }
}
