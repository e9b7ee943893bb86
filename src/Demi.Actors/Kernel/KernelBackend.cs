using Demi.Buffers;
using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>
/// Linux kernel sockets driven by the shards (Demikernel's catnap): non-blocking sockets in each
/// shard's epoll set. Needs no privileges, so it is the embedded default.
/// </summary>
public sealed class KernelBackend : INetworkBackend
{
    /// <inheritdoc/>
    public string Name => "kernel";

    /// <summary>Null: kernel sockets copy data, so the runtime's own pool is used.</summary>
    public BufferPool? BufferPool => null;

    /// <inheritdoc/>
    public IShardDriver CreateDriver(Shard shard) => new KernelShardDriver(shard);

    /// <inheritdoc/>
    public int CreateSocket(Shard shard, int type, out SocketActor? socket)
    {
        socket = null;
        int fd = Libc.socket(SocketConstants.AF_INET, type | Libc.SOCK_NONBLOCK | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
            return Libc.LastErrno;
        socket = type == SocketConstants.SOCK_STREAM ? new KernelTcpSocket(shard, fd, connected: false) : new KernelUdpSocket(shard, fd);
        return 0;
    }

    /// <summary>Nothing to release: sockets are closed by their actors.</summary>
    public void Dispose()
    {
    }
}
