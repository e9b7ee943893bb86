using Demi.Buffers;
using Demi.Inet;
using Demi.Transport.Xdp;

namespace Demi.Transport.Dpdk;

/// <summary>
/// The libOS over DPDK (Demikernel's catnip): one <see cref="DpdkNicQueue"/> per shard (shard
/// <c>i</c> on queue pair <c>i</c> of one port), all sharing one <see cref="DpdkMbufPool"/> so that a
/// buffer from <c>SgaAlloc</c> is an mbuf's data room any shard can transmit as is; the user-space
/// stack (<see cref="InetBackend"/>) runs on each queue, as over AF_XDP.
/// </summary>
public sealed class DpdkBackend : InetDeviceBackend
{
    private readonly DpdkMbufPool _mbufs;
    private readonly DpdkPort _port;
    private readonly DpdkNicQueue[] _queues;

    private DpdkBackend(DpdkMbufPool mbufs, DpdkPort port, DpdkNicQueue[] queues, InetBackend inet)
        : base(inet)
    {
        _mbufs = mbufs;
        _port = port;
        _queues = queues;
    }

    /// <summary>
    /// Starts the EAL (once per process), opens the port with <paramref name="queueCount"/> queue
    /// pairs over a new mbuf pool, and a stack per queue configured by <paramref name="stack"/>
    /// (called with the shard index).
    /// </summary>
    /// <exception cref="DpdkException">DPDK, the device or the port cannot be set up; the message says why.</exception>
    public static DpdkBackend Create(DpdkOptions options, Func<int, InetStackOptions> stack, int queueCount = 1)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        DpdkEal.Initialize(options.BuildEalArguments(), options.EalArguments is null ? null : options.NetworkNamespace);
        var mbufs = new DpdkMbufPool(options.PoolSize, options.BufferSize, options.PortId is null ? options.MempoolCacheSize : 0);
        DpdkPort? port = null;
        var queues = new List<DpdkNicQueue>();
        try
        {
            port = DpdkPort.Open(options, queueCount);
            nint rxMempool = 0;
            string driver = port.QueryDriver();
            if (driver == "net_af_xdp")
            {
                // net_af_xdp builds its UMEM over its RX mempool's own memory (mbuf header and data adjacent):
                // it cannot receive into external buffers, so it gets a plain pool and frames are copied in.
                rxMempool = mbufs.CreateDriverRxPool(Math.Max(4 * options.RxDescriptors * queueCount, 8192));
            }
            else if (driver != DpdkRingPair.Driver)
            {
                // The PMDs' RX supply: half the pool, as the AF_XDP fill ring gets, leaving the rest to the app and TX.
                // (net_ring allocates none: it hands over the sender's mbufs, which are copied into this pool.)
                mbufs.Lend(options.PoolSize / 2);
            }
            // Some PMD control calls (af_packet's MTU, flags and link state) use ioctls on the interface name:
            // they must run in the interface's namespace.
            using (options.NetworkNamespace is null ? null : NetworkNamespaceScope.Enter(options.NetworkNamespace))
                port.Start(mbufs, queueCount, options, rxMempool);
            for (int i = 0; i < queueCount; i++)
                queues.Add(new DpdkNicQueue(port, i, mbufs, port.Mtu));
            // With several queue pairs the stack steers each frame to the shard owning its flow (the PMD
            // spreads flows by its own hash: af_packet's fanout, RSS where offered). The queues are freed
            // here, after the port stops, not by the stack.
            var inet = CreateStack(queues, stack, port.RxDescriptors, ownsQueues: false);
            return new DpdkBackend(mbufs, port, queues.ToArray(), inet);
        }
        catch
        {
            port?.Dispose();
            foreach (var q in queues)
                q.Dispose();
            mbufs.Dispose();
            throw;
        }
    }

    /// <summary>A one-shard backend with one stack configuration.</summary>
    public static DpdkBackend Create(DpdkOptions options, InetStackOptions stack) => Create(options, _ => stack, 1);

    /// <summary>"dpdk".</summary>
    public override string Name => "dpdk";

    /// <summary>The mbuf pool's buffers: <c>SgaAlloc</c> hands out mbuf data rooms.</summary>
    public override BufferPool? BufferPool => _mbufs.Pool;

    /// <summary>The mbuf pool.</summary>
    public DpdkMbufPool Mbufs => _mbufs;

    /// <summary>The port.</summary>
    public DpdkPort Port => _port;

    /// <summary>The queue pairs, by shard index.</summary>
    public IReadOnlyList<DpdkNicQueue> Queues => _queues;

    /// <summary>Stops the port, then returns every buffer the device and the queues held and frees the pool.</summary>
    protected override void DisposeDevice()
    {
        _port.Dispose();
        foreach (var q in _queues)
            q.Dispose();
        _mbufs.Dispose();
    }
}
