using Demi.Buffers;

namespace Demi.Runtime;

/// <summary>
/// Where sockets come from: Linux kernel sockets (the embedded default), or a user-space stack over
/// a NIC queue (AF_XDP, DPDK, virtual wire). A backend creates one <see cref="IShardDriver"/> per
/// shard and socket actors owned by a shard.
/// </summary>
public interface INetworkBackend : IDisposable
{
    /// <summary>Short name for diagnostics ("kernel", "xdp", ...).</summary>
    string Name { get; }

    /// <summary>
    /// The memory <c>SgaAlloc</c> must hand out so that pushes are zero-copy (an AF_XDP UMEM), or null
    /// to let the runtime use its own pinned pool.
    /// </summary>
    BufferPool? BufferPool { get; }

    /// <summary>Called once per shard, on the shard's thread, before it serves any message.</summary>
    IShardDriver CreateDriver(Shard shard);

    /// <summary>
    /// Creates a socket of <paramref name="type"/> (SOCK_STREAM or SOCK_DGRAM) owned by <paramref name="shard"/>.
    /// Runs on the caller's thread: the actor must not touch shard state until it is attached.
    /// Returns 0 or an errno.
    /// </summary>
    int CreateSocket(Shard shard, int type, out SocketActor? socket);
}
