using Demi.Buffers;
using Demi.Runtime;

namespace Demi.Queues;

/// <summary>
/// An in-process queue descriptor (Demikernel's memory queue): pushed sgas are handed to poppers
/// by reference, in order. The pusher keeps its own reference; the popper gets the push's one.
/// </summary>
internal sealed class MemoryQueue : QueueActor
{
    private readonly Queue<(Sga Sga, BufferRef Buffer)> _items = new();
    private readonly Queue<ulong> _pendingPops = new();

    public MemoryQueue(Shard shard)
        : base(shard)
    {
    }

    protected internal override void OnPush(in PushRequest request)
    {
        // The push's buffer reference travels with the item to whoever pops it.
        var sga = request.Sga;
        sga.Address = default;
        if (_pendingPops.TryDequeue(out var popQt))
            CompletePop(popQt, sga);
        else
            _items.Enqueue((sga, request.Buffer));
        Complete(new QResult { Opcode = Opcode.Push, Qd = Qd, Qt = request.Qt, Sga = request.Sga });
    }

    protected internal override void OnPop(ulong qt)
    {
        if (_items.TryDequeue(out var item))
            CompletePop(qt, item.Sga);
        else
            _pendingPops.Enqueue(qt);
    }

    protected internal override void OnClose()
    {
        while (_pendingPops.TryDequeue(out var qt))
            Fail(qt, Errno.ECANCELED);
        while (_items.TryDequeue(out var item))
            item.Buffer.Release();
    }
}
