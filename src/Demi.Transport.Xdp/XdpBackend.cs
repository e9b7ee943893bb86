using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;

namespace Demi.Transport.Xdp;

/// <summary>
/// The libOS over AF_XDP: one <see cref="XdpNicQueue"/> per shard (shard <c>i</c> on queue
/// <c>FirstQueue + i</c> of one interface), all sharing one <see cref="XdpUmem"/> so that a buffer
/// from <c>SgaAlloc</c> is a UMEM frame any shard can transmit as is; the user-space stack
/// (<see cref="InetBackend"/>) runs on each queue.
/// </summary>
public sealed class XdpBackend : InetDeviceBackend
{
    private readonly XdpUmem _umem;
    private readonly XdpNicQueue[] _queues;

    private XdpBackend(XdpUmem umem, XdpNicQueue[] queues, InetBackend inet)
        : base(inet)
    {
        _umem = umem;
        _queues = queues;
    }

    /// <summary>
    /// Opens <paramref name="queueCount"/> AF_XDP sockets on <paramref name="queue"/>'s interface,
    /// starting at its <see cref="XdpQueueOptions.QueueId"/>, and a stack per queue configured by
    /// <paramref name="stack"/> (called with the shard index). With several queues and
    /// <paramref name="steering"/> (the default), frames that land on a shard not owning their flow
    /// are steered in software to the owner by the stack (see <see cref="FlowSteering"/>).
    /// </summary>
    /// <remarks>
    /// <paramref name="shards"/> (0: one per queue) may be fewer than the queues: shard <c>i</c> then
    /// drains queues <c>i, i + shards, ...</c> (a <see cref="CombinedNicQueue"/>), so that every queue
    /// the device spreads traffic over is read.
    /// </remarks>
    public static XdpBackend Create(XdpQueueOptions queue, Func<int, InetStackOptions> stack, int queueCount = 1, bool steering = true, int shards = 0)
    {
        // A queue an exited process's socket still holds (the kernel releases it in deferred work) is
        // EBUSY for a moment: retry from scratch, with a fresh UMEM (libxdp's state after a failed
        // create is not reusable). Set-up path only.
        ArgumentNullException.ThrowIfNull(queue);
        XdpMode mode = queue.Mode;
        string? fallbackReason = null;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var backend = CreateOnce(queue, mode, stack, queueCount, steering, shards);
                foreach (var q in backend._queues)
                    q.FallbackReason = fallbackReason;
                return backend;
            }
            catch (XdpException e) when (e.NativeModeFailure is not null)
            {
                // Native mode failed after the UMEM's socket was bound: start over in generic mode, UMEM included.
                mode = XdpMode.Generic;
                fallbackReason = e.NativeModeFailure;
                XdpNicQueue.ReportFallback(queue, fallbackReason);
            }
            catch (XdpException e) when (e.Errno == Errno.EBUSY && attempt < 40)
            {
                Thread.Sleep(25);
            }
        }
    }

    private static XdpBackend CreateOnce(XdpQueueOptions queue, XdpMode mode, Func<int, InetStackOptions> stack, int queueCount, bool steering, int shards)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(stack);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCount, 1);
        if (shards == 0)
            shards = queueCount;
        ArgumentOutOfRangeException.ThrowIfLessThan(shards, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(shards, queueCount);
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
                    Mode = mode,
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
            var inet = CreateStack(queues, stack, queue.RxSize, ownsQueues: true, steering, shards);
            return new XdpBackend(umem, queues.ToArray(), inet);
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
    public override string Name => "xdp";

    /// <summary>The shared UMEM's pool: <c>SgaAlloc</c> hands out UMEM frames.</summary>
    public override BufferPool? BufferPool => _umem.Pool;

    /// <summary>The AF_XDP queues, by queue index (shard <c>i</c> drains queues <c>i, i + shards, ...</c>).</summary>
    public IReadOnlyList<XdpNicQueue> Queues => _queues;

    /// <summary>Frees the UMEM, after the stack closed the sockets (detaching the XDP program).</summary>
    protected override void DisposeDevice() => _umem.Dispose();
}
