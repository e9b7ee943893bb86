using System.Runtime.InteropServices;
using Demi.Runtime;

namespace Demi.Kernel;

/// <summary>
/// Per-shard state of the kernel backend. Socket readiness comes through the shard's own epoll set,
/// so there is nothing to poll here; it holds the shard's receive scratch area.
/// </summary>
internal sealed unsafe class KernelShardDriver : IShardDriver
{
    /// <summary>Large enough for any UDP datagram.</summary>
    public const int ScratchSize = 65536;

    public KernelShardDriver() => Scratch = (byte*)NativeMemory.AlignedAlloc(ScratchSize, 64);

    /// <summary>Overflow area for datagrams bigger than a pool buffer (shard thread only).</summary>
    public byte* Scratch { get; }

    private readonly List<KernelUdpSocket> _pendingFlush = [];

    public long NextDeadline => long.MaxValue;

    /// <summary>Asks for <paramref name="socket"/>'s queued datagrams to be sent in one batch at the end of this round.</summary>
    public void ScheduleFlush(KernelUdpSocket socket) => _pendingFlush.Add(socket);

    /// <summary>Runs after each mailbox drain: every UDP socket that queued pushes sends them with one sendmmsg.</summary>
    public int Poll()
    {
        int count = _pendingFlush.Count;
        if (count == 0)
            return 0;
        for (int i = 0; i < count; i++)
            _pendingFlush[i].Flush();
        _pendingFlush.Clear();
        return count;
    }

    public void Dispose() => NativeMemory.AlignedFree(Scratch);
}
