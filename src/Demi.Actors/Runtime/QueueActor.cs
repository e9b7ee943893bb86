namespace Demi.Runtime;

/// <summary>
/// The state behind one queue descriptor. It lives on one shard and is touched only by that shard's
/// thread: the runtime validates calls on the caller's thread and posts them to the shard, which
/// calls the <c>On*</c> methods below in order.
/// </summary>
public abstract class QueueActor
{
    private volatile bool _closed;

    /// <summary>Creates an actor owned by <paramref name="shard"/>.</summary>
    protected QueueActor(Shard shard)
    {
        Shard = shard;
    }

    /// <summary>The shard that owns this actor and runs all its calls.</summary>
    public Shard Shard { get; }

    /// <summary>The LibOS the actor belongs to.</summary>
    public LibOS LibOS => Shard.LibOS;

    /// <summary>The queue descriptor (set when registered).</summary>
    public int Qd { get; internal set; } = -1;

    /// <summary>Set once <c>Close</c> begins; later calls see EBADF.</summary>
    public bool IsClosed => _closed;

    internal void MarkClosed() => _closed = true;

    private bool _attached;
    private System.Reactive.Subjects.Subject<QResult>? _completions;

    /// <summary>Runs <see cref="OnAttached"/> once, before the actor's first message or control call (shard thread).</summary>
    internal void EnsureAttached()
    {
        if (_attached)
            return;
        _attached = true;
        OnAttached();
    }

    /// <summary>This descriptor's completion stream (created on first use; completes when the descriptor closes).</summary>
    internal System.Reactive.Subjects.Subject<QResult> CompletionSubject
    {
        get
        {
            var subject = Volatile.Read(ref _completions);
            if (subject is not null)
                return subject;
            Interlocked.CompareExchange(ref _completions, new System.Reactive.Subjects.Subject<QResult>(), null);
            return _completions!;
        }
    }

    /// <summary>The stream if anybody asked for it (publishing checks this without creating one).</summary>
    internal System.Reactive.Subjects.Subject<QResult>? CompletionSubjectIfAny => Volatile.Read(ref _completions);

    /// <summary>
    /// True while pushes are queued or pushed bytes are not yet handed off for good (sent, or on the
    /// stack's TCP acknowledged). Read on the shard thread; <see cref="LibOS.DrainAsync"/> waits for it.
    /// </summary>
    protected internal virtual bool HasUnsentData => false;

    /// <summary>Called on the shard thread once, before any other message (register fds here).</summary>
    protected internal virtual void OnAttached()
    {
    }

    /// <summary>
    /// A push (or pushto) arrived. Complete it with <see cref="CompletePush"/> or <see cref="Fail"/>. Hand
    /// the request's buffer reference on (or release it) only as the last step: if this method throws, the
    /// runtime releases the reference and fails the push with EIO.
    /// </summary>
    protected internal abstract void OnPush(in PushRequest request);

    /// <summary>A pop arrived. Complete it with a Pop result carrying the data, or fail it.</summary>
    protected internal abstract void OnPop(ulong qt);

    /// <summary>
    /// The descriptor is closing: complete every pending operation as Failed/ECANCELED (releasing push
    /// buffers) and free the actor's resources. Runs on the shard thread; the caller of Close waits for it.
    /// </summary>
    protected internal abstract void OnClose();

    /// <summary>
    /// True after <see cref="OnClose"/> while the connection still finishes in the background (a user-space
    /// TCP sending what was pushed and exchanging FINs); the libOS's shutdown waits for it. Shard thread.
    /// </summary>
    protected internal virtual bool IsFinishing => false;

    /// <summary>
    /// The shutdown's drain timeout passed while <see cref="IsFinishing"/>: reset what is left and return
    /// true, or false when nothing was lost (e.g. only the peer's FIN is missing). Shard thread.
    /// </summary>
    protected internal virtual bool OnDrainTimedOut() => false;

    /// <summary>Publishes a completion.</summary>
    protected void Complete(in QResult result) => LibOS.Complete(this, result);

    /// <summary>Completes operation <paramref name="qt"/> as Failed with <paramref name="errno"/>.</summary>
    protected void Fail(ulong qt, int errno) => LibOS.Complete(this, QResult.Fail(Qd, qt, errno));

    /// <summary>Releases the push's buffer reference and completes it (as Failed when <paramref name="errno"/> is not 0).</summary>
    protected void CompletePush(in PushRequest request, int errno = 0)
    {
        request.Buffer.Release();
        // A failed push still names its sga so that fire-and-forget callers can free it.
        LibOS.Complete(this, new QResult
        {
            Opcode = errno == 0 ? Opcode.Push : Opcode.Failed, Qd = Qd, Qt = request.Qt, Ret = errno, Sga = request.Sga,
        });
    }

    /// <summary>Completes a pop with data the app now owns (it frees the sga).</summary>
    protected void CompletePop(ulong qt, in Sga sga)
        => LibOS.Complete(this, new QResult { Opcode = Opcode.Pop, Qd = Qd, Qt = qt, Sga = sga });

    /// <summary>
    /// Completes a pop with a received frame's window, which becomes the app's sga in place (zero copy; the
    /// frame's reference is the app's now), from <paramref name="source"/> (datagrams; default otherwise).
    /// The sga is written into the result itself: built apart and then copied in, the copy's wide loads
    /// wait for the narrow stores that built it (store-to-load forwarding fails), once per pop.
    /// </summary>
    protected void CompletePop(ulong qt, in Buffers.PacketBuffer frame, in SockAddrIn source = default)
    {
        var result = new QResult { Opcode = Opcode.Pop, Qd = Qd, Qt = qt };
        Buffers.BufferManager.WriteSga(ref result.Sga, frame, source);
        LibOS.Complete(this, result);
    }
}
