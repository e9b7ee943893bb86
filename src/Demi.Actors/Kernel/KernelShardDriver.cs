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

    public long NextDeadline => long.MaxValue;

    public int Poll() => 0;

    public void Dispose() => NativeMemory.AlignedFree(Scratch);
}
