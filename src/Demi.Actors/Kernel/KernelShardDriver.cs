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

    /// <summary>Overflow areas, one per datagram of a recvmmsg burst.</summary>
    public const int OverflowAreas = 16;

    private readonly Shard _shard;
    private byte* _overflow;

    public KernelShardDriver(Shard shard)
    {
        _shard = shard;
    }

    /// <summary>
    /// Where datagram <paramref name="index"/> of a receive burst spills when it is bigger than a pool
    /// buffer (shard thread only; allocated on first use, so TCP-only shards never pay for it).
    /// </summary>
    public byte* OverflowArea(int index)
    {
        if (_overflow is null)
            _overflow = (byte*)NativeMemory.AlignedAlloc((nuint)(OverflowAreas * ScratchSize), 64);
        return _overflow + index * ScratchSize;
    }

    private List<KernelUdpSocket> _pendingFlush = [];
    private List<KernelUdpSocket> _flushing = [];

    public long NextDeadline => long.MaxValue;

    /// <summary>Asks for <paramref name="socket"/>'s queued datagrams to be sent in one batch at the end of this round.</summary>
    public void ScheduleFlush(KernelUdpSocket socket) => _pendingFlush.Add(socket);

    /// <summary>Runs after each mailbox drain: every UDP socket that queued pushes sends them with one sendmmsg.</summary>
    public int Poll()
    {
        int count = _pendingFlush.Count;
        if (count == 0)
            return 0;
        // Swap first: a flush that throws must not leave the list half-served for the next round.
        (_flushing, _pendingFlush) = (_pendingFlush, _flushing);
        foreach (var socket in _flushing)
        {
            try
            {
                socket.Flush();
            }
            catch (Exception ex)
            {
                // One socket's fault (e.g. an app's double free) must not strand the others' datagrams.
                _shard.LibOS.ReportShardFault(_shard, ex);
            }
        }
        _flushing.Clear();
        return count;
    }

    public void Dispose()
    {
        if (_overflow is not null)
            NativeMemory.AlignedFree(_overflow);
        _overflow = null;
    }
}
