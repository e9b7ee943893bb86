using System.Numerics;
using Demi.Buffers;
using Demi.Inet.Nic;
using Demi.Runtime;

namespace Demi.Inet;

/// <summary>
/// What every device backend (AF_XDP, DPDK) has in common: the user-space stack
/// (<see cref="InetBackend"/>) over the device's NIC queues, one shard per queue or per group of
/// queues, with software steering between the shards. A device backend opens its queues (one buffer
/// pool every shard can transmit from), hands them to <see cref="CreateStack"/>, and frees the device
/// in <see cref="DisposeDevice"/>.
/// </summary>
public abstract class InetDeviceBackend : INetworkBackend
{
    private const int MaxSteeringRingCapacity = 4096;

    private int _disposed;

    /// <summary>A backend running <paramref name="inet"/> (made by <see cref="CreateStack"/>) over the device.</summary>
    protected InetDeviceBackend(InetBackend inet)
    {
        ArgumentNullException.ThrowIfNull(inet);
        Inet = inet;
    }

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract BufferPool? BufferPool { get; }

    /// <summary>Software steering across the shards, done by the stack (null with one shard or when turned off).</summary>
    public FlowSteering? Steering => Inet.Steering;

    /// <summary>The user-space stack backend underneath.</summary>
    public InetBackend Inet { get; }

    /// <summary>Provider of SOCK_STREAM sockets (the TCP layer); see <see cref="InetBackend.StreamTransport"/>.</summary>
    public IInetTransportFactory? StreamTransport
    {
        get => Inet.StreamTransport;
        set => Inet.StreamTransport = value;
    }

    /// <inheritdoc/>
    public IShardDriver CreateDriver(Shard shard) => Inet.CreateDriver(shard);

    /// <inheritdoc/>
    public int CreateSocket(Shard shard, int type, out SocketActor? socket) => Inet.CreateSocket(shard, type, out socket);

    /// <summary>Disposes the stack, then the device (<see cref="DisposeDevice"/>); later calls do nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Inet.Dispose();
        DisposeDevice();
    }

    /// <summary>Frees the device and its buffers; called once, after the stack is disposed.</summary>
    protected abstract void DisposeDevice();

    /// <summary>
    /// The stack over a device's <paramref name="queues"/> (one buffer pool): <paramref name="shards"/>
    /// shards (0: one per queue), shard <c>i</c> draining queues <c>i, i + shards, ...</c> (combined
    /// into a <see cref="CombinedNicQueue"/> when there are several, so that every queue the device
    /// spreads traffic over is read), each configured by <paramref name="stack"/> (called with the
    /// shard index). With several shards and <paramref name="steering"/>, frames landing on a shard
    /// that does not own their flow are steered to the owner through rings sized like an RX ring of
    /// <paramref name="rxRingSize"/> descriptors (at most 4096 frames).
    /// </summary>
    /// <param name="queues">The device's queues, by queue index.</param>
    /// <param name="stack">The stack configuration of each shard.</param>
    /// <param name="rxRingSize">Descriptors in one of the device's RX rings.</param>
    /// <param name="ownsQueues">
    /// Whether the stack disposes the queues. A device that frees them itself (after stopping the
    /// device) passes false and must then give one queue per shard: a combined queue owns its queues.
    /// </param>
    /// <param name="steering">Whether frames are steered between the shards in software.</param>
    /// <param name="shards">Shards, at most one per queue; 0 for one per queue.</param>
    protected static InetBackend CreateStack(IReadOnlyList<INicQueue> queues, Func<int, InetStackOptions> stack, int rxRingSize,
        bool ownsQueues, bool steering = true, int shards = 0)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentOutOfRangeException.ThrowIfLessThan(rxRingSize, 1);
        if (shards == 0)
            shards = queues.Count;
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, queues.Count);
        if (!ownsQueues && shards != queues.Count)
            throw new ArgumentException("Queues the stack does not own cannot be combined: give one queue per shard.", nameof(shards));
        // A burst of a busy owner's worth of frames in flight.
        int ringCapacity = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)rxRingSize), MaxSteeringRingCapacity);
        var perShard = new INicQueue[shards];
        for (int i = 0; i < shards; i++)
        {
            var mine = queues.Where((_, q) => q % shards == i).ToArray();
            perShard[i] = mine.Length == 1 ? mine[0] : new CombinedNicQueue(mine);
        }
        return new InetBackend(perShard, stack, ownsQueues, steering, ringCapacity);
    }
}
