using System.Runtime.CompilerServices;

namespace Demi.Async;

/// <summary>
/// A typed, awaitable handle on a queue descriptor. Failures surface as <see cref="DemiException"/>
/// naming the operation and the endpoint. Popped sgas belong to the caller: free them with <see cref="Free"/>.
/// </summary>
/// <remarks>
/// Cancellation follows .NET sockets: a cancelled pop or accept throws <see cref="OperationCanceledException"/>
/// at once, and what the operation later yields is not lost: the next pop (or accept) on this object
/// returns it first, and <see cref="Dispose"/> frees (or closes) it if nobody asks. A cancelled push may
/// still be sent; its buffer reference is dropped when it completes. A cancelled connect closes the
/// socket. The <see cref="ValueTask"/>s returned here are pooled: awaiting one twice is an
/// <see cref="InvalidOperationException"/>, as with .NET's own.
/// </remarks>
public abstract class DemiQueue : IDisposable
{
    private static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(5);
    private readonly OrphanedOperations _orphanedPops = new();
    private int _disposed;

    private protected DemiQueue(LibOS libOS, int qd)
    {
        LibOS = libOS;
        Qd = qd;
    }

    /// <summary>The LibOS the descriptor belongs to.</summary>
    public LibOS LibOS { get; }

    /// <summary>The queue descriptor, usable with the errno API too.</summary>
    public int Qd { get; }

    /// <summary>Completions of this descriptor as an Rx stream.</summary>
    public IObservable<QResult> Completions => LibOS.CompletionsOf(Qd);

    /// <summary>Allocates a buffer of <paramref name="size"/> bytes (throws ENOMEM/EINVAL when it cannot).</summary>
    public Sga Allocate(int size)
    {
        var sga = LibOS.SgaAlloc(size);
        if (!sga.IsAllocated)
            throw Error(size <= 0 ? Errno.EINVAL : Errno.ENOMEM, nameof(Allocate));
        return sga;
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public Sga Allocate(ReadOnlySpan<byte> data)
    {
        var sga = Allocate(data.Length);
        data.CopyTo(sga.Span);
        return sga;
    }

    /// <summary>Frees an sga: a popped one (end-of-stream ones included) or one from <see cref="Allocate(int)"/>.</summary>
    public void Free(in Sga sga) => Check(LibOS.SgaFree(sga), nameof(Free));

    /// <summary>
    /// Pushes <paramref name="sga"/> and completes when it is sent (the caller still frees it).
    /// A zero-length sga is EINVAL, as <c>demi_push</c>'s man page says.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask PushAsync(Sga sga, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Check(await AwaitAsync(LibOS.PushAsync(Qd, sga), null, cancellationToken).ConfigureAwait(false), nameof(PushAsync));
    }

    /// <summary>
    /// Pops the next item; the returned sga is the caller's to free. On TCP a zero-length sga is end of
    /// stream (free it too).
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Sga> PopAsync(CancellationToken cancellationToken = default)
        => Check(await PopResultAsync(cancellationToken).ConfigureAwait(false), nameof(PopAsync)).Sga;

    private protected ValueTask<QResult> PopResultAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var orphan = _orphanedPops.TryTake();
        return orphan is not null
            ? AwaitOrphanAsync(orphan, _orphanedPops, cancellationToken)
            : AwaitAsync(LibOS.PopAsync(Qd), _orphanedPops, cancellationToken);
    }

    /// <summary>
    /// Awaits <paramref name="operation"/>. On cancellation a still-pending operation is handed to
    /// <paramref name="orphans"/> (when given) so that its result reaches the next caller.
    /// </summary>
    private protected async ValueTask<QResult> AwaitAsync(ValueTask<QResult> operation, OrphanedOperations? orphans, CancellationToken cancellationToken)
    {
        if (!cancellationToken.CanBeCanceled || operation.IsCompleted)
            return await operation.ConfigureAwait(false);
        var task = operation.AsTask();
        try
        {
            return await task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!task.IsCompleted)
        {
            if (orphans is not null && !orphans.TryAdd(task, oldest: false))
                ReleaseWhenDone(task);
            throw;
        }
    }

    // An orphan taken by a caller who is cancelled in turn goes back to the front: it is still the oldest.
    private protected async ValueTask<QResult> AwaitOrphanAsync(Task<QResult> orphan, OrphanedOperations orphans, CancellationToken cancellationToken)
    {
        try
        {
            return await orphan.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!orphan.IsCompleted)
        {
            if (!orphans.TryAdd(orphan, oldest: true))
                ReleaseWhenDone(orphan);
            throw;
        }
    }

    /// <summary>Frees (or closes) what an abandoned operation yielded.</summary>
    private protected virtual void Release(in QResult result)
    {
        if (result.Opcode == Opcode.Pop && result.Sga.IsAllocated)
            LibOS.SgaFree(result.Sga);
    }

    private protected void ReleaseWhenDone(Task<QResult> operation)
    {
        // After Close every pending operation has completed on its shard; the task itself finishes
        // once its continuation has run on the thread pool.
        if (operation.Wait(ReleaseWait))
            Release(operation.Result);
    }

    /// <summary>How this descriptor is described in exception messages (protocol and endpoints), or null.</summary>
    protected virtual string? DescribeEndpoint() => null;

    /// <summary>Throws a <see cref="DemiException"/> naming <paramref name="operation"/> when <paramref name="errno"/> is not 0.</summary>
    protected void Check(int errno, string operation)
    {
        if (errno != 0)
            throw Error(errno, operation);
    }

    /// <summary>Throws a <see cref="DemiException"/> naming <paramref name="operation"/> when <paramref name="result"/> failed.</summary>
    protected QResult Check(in QResult result, string operation)
    {
        if (result.Opcode == Opcode.Failed)
            throw Error((int)result.Ret, operation);
        return result;
    }

    /// <summary>The exception for <paramref name="errno"/> in <paramref name="operation"/> on this descriptor.</summary>
    protected DemiException Error(int errno, string operation) => new(errno, operation, Qd, DescribeEndpoint());

    /// <summary>Throws a <see cref="DemiException"/> naming <paramref name="operation"/> (before a descriptor exists).</summary>
    protected static void Check(int errno, string operation, string? endpoint)
    {
        if (errno != 0)
            throw new DemiException(errno, operation, -1, endpoint);
    }

    /// <summary>Called once on dispose, after the descriptor is closed, to release what subclasses hold.</summary>
    private protected virtual void OnDisposed()
    {
    }

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    protected bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Closes the descriptor; pending operations fail with ECANCELED and what abandoned ones yielded is freed.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        LibOS.Close(Qd);
        foreach (var orphan in _orphanedPops.Close())
            ReleaseWhenDone(orphan);
        OnDisposed();
        GC.SuppressFinalize(this);
    }
}
