namespace Demi.Runtime;

/// <summary>Hands one mailbox message to its actor (shard thread).</summary>
internal static class ShardDispatcher
{
    public static void Dispatch(ref ShardMessage message)
    {
        var actor = message.Actor;
        if (message.Kind == MessageKind.Call)
        {
            message.Call!.Run();
            return;
        }
        actor!.EnsureAttached();
        if (message.Kind == MessageKind.Attach)
            return;
        if (actor.IsClosed)
        {
            // Raced with Close: the descriptor is gone, so the operation is cancelled.
            var cancelled = QResult.Fail(actor.Qd, message.Qt, Errno.ECANCELED);
            if (message.Kind == MessageKind.Push)
            {
                message.Buffer.Release();
                cancelled.Sga = message.Sga;
            }
            actor.LibOS.Complete(actor, cancelled);
            return;
        }
        switch (message.Kind)
        {
            case MessageKind.Push:
                actor.OnPush(in message.Operation);
                break;
            case MessageKind.Pop:
                actor.OnPop(message.Qt);
                break;
            case MessageKind.Accept:
                ((SocketActor)actor).OnAccept(message.Qt);
                break;
            case MessageKind.Connect:
                ((SocketActor)actor).OnConnect(message.Qt, message.Endpoint);
                break;
        }
    }

    /// <summary>
    /// An actor threw while serving <paramref name="message"/>: fail the operation with EIO (a control
    /// call reports its own exception). A push's buffer reference goes back with it: an actor hands the
    /// reference on (to a NIC, a send queue) or releases it only as the last step of <c>OnPush</c>.
    /// </summary>
    public static void FailAfterFault(in ShardMessage message)
    {
        if (message.Kind == MessageKind.Call || message.Kind == MessageKind.Attach || message.Actor is not { } failed)
            return;
        var result = QResult.Fail(failed.Qd, message.Qt, Errno.EIO);
        if (message.Kind == MessageKind.Push)
        {
            message.Buffer.Release();
            result.Sga = message.Sga; // named, so a fire-and-forget caller can free its sga
        }
        failed.LibOS.Complete(failed, result);
    }
}
