using Demi.Buffers;
using Demi.Runtime;

namespace Demi.Internal;

/// <summary>
/// The submission side of the queue API: validates an operation on the caller's thread, takes what it
/// holds while in flight (a token or a detached place, a reference on a pushed buffer) and posts it to
/// the shard that owns the descriptor. Anything taken is given back if the post fails.
/// </summary>
internal sealed class OperationSubmitter
{
    private readonly DescriptorTable _descriptors;
    private readonly BufferManager _buffers;
    private readonly TokenTable _tokens;

    public OperationSubmitter(DescriptorTable descriptors, BufferManager buffers, TokenTable tokens)
    {
        _descriptors = descriptors;
        _buffers = buffers;
        _tokens = tokens;
    }

    /// <summary>
    /// Posts <paramref name="operation"/> on <paramref name="qd"/>. 0 with the token (0 when
    /// <see cref="Redemption.Detached"/>) and, for <see cref="Redemption.Await"/>, the slot to await;
    /// EBADF, ENOTSUP, a buffer's EINVAL, or EAGAIN when no token or mailbox place is free.
    /// </summary>
    public int Submit(int qd, in Operation operation, Redemption redemption, out ulong qt, out TokenSlot? slot)
    {
        var sga = operation.Sga;
        return Submit(qd, operation.Kind, sga, operation.Endpoint, operation.HasEndpoint, redemption, out qt, out slot);
    }

    /// <summary>
    /// <see cref="Submit(int, in Operation, Redemption, out ulong, out TokenSlot?)"/> from its parts (the
    /// Post* calls' path: no operation struct built and copied on the way). <paramref name="sga"/> is read
    /// for pushes only.
    /// </summary>
    public int Submit(int qd, MessageKind kind, in Sga sga, Ipv4Endpoint endpoint, bool hasEndpoint, Redemption redemption, out ulong qt, out TokenSlot? slot)
    {
        qt = 0;
        slot = null;
        var actor = _descriptors.Get(qd);
        if (actor is null || actor.IsClosed)
            return Errno.EBADF;
        int unsupported = CheckSupported(actor, kind);
        if (unsupported != 0)
            return unsupported;
        BufferRef buffer = default;
        if (kind == MessageKind.Push)
        {
            int err = _buffers.Validate(sga, out buffer);
            if (err != 0)
                return err;
            buffer.AddRef();
        }
        var shard = actor.Shard;
        if (!TryTakeToken(shard, redemption, out slot))
        {
            if (kind == MessageKind.Push)
                buffer.Release();
            return Errno.EAGAIN;
        }
        qt = slot?.Token ?? 0;
        bool posted;
        if (shard.IsCurrentThread)
        {
            // Written straight into the mailbox slot (see ShardMailbox).
            ref var message = ref shard.TryReserveLocal(out posted);
            if (posted)
            {
                message.Kind = kind;
                message.Actor = actor;
                message.Qt = qt;
                message.HasEndpoint = hasEndpoint;
                message.Endpoint = endpoint;
                if (kind == MessageKind.Push)
                {
                    message.Sga = sga;
                    message.Buffer = buffer;
                }
            }
        }
        else
        {
            var message = new ShardMessage
            {
                Kind = kind, Actor = actor, Qt = qt, Sga = kind == MessageKind.Push ? sga : default, Buffer = buffer,
                Endpoint = endpoint, HasEndpoint = hasEndpoint,
            };
            posted = shard.TryPost(message);
        }
        if (posted)
            return 0;
        if (kind == MessageKind.Push)
            buffer.Release();
        if (slot is not null)
            _tokens.Release(slot);
        else
            actor.Shard.Detached.Release();
        qt = 0;
        slot = null;
        return Errno.EAGAIN;
    }

    // demi_accept(3) and demi_connect(3): EINVAL at call time for a queue that does not support the
    // operation: accept on anything but a listening stream socket, connect on a memory queue or a listener.
    private static int CheckSupported(QueueActor actor, MessageKind kind) => kind switch
    {
        MessageKind.Accept when actor is not SocketActor { SocketType: SocketConstants.SOCK_STREAM, IsListening: true } => Errno.EINVAL,
        MessageKind.Connect when actor is not SocketActor { IsListening: false } => Errno.EINVAL,
        _ => 0,
    };

    private bool TryTakeToken(Shard shard, Redemption redemption, out TokenSlot? slot)
    {
        if (redemption == Redemption.Detached)
        {
            slot = null;
            return shard.Detached.TryAcquire();
        }
        bool taken = _tokens.TryAllocate(asyncOwned: redemption == Redemption.Await, out var allocated);
        slot = taken ? allocated : null;
        return taken;
    }
}
