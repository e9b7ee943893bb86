namespace Demi.Async;

/// <summary>
/// A typed, awaitable handle on a queue descriptor. Failures surface as <see cref="DemiException"/>
/// carrying the errno. Popped sgas belong to the caller: free them with <see cref="Free"/>.
/// </summary>
public abstract class DemiQueue : IDisposable
{
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
            ThrowHelper.ThrowDemi(size <= 0 ? Errno.EINVAL : Errno.ENOMEM);
        return sga;
    }

    /// <summary>Allocates a buffer holding a copy of <paramref name="data"/>.</summary>
    public Sga Allocate(ReadOnlySpan<byte> data)
    {
        var sga = Allocate(data.Length);
        data.CopyTo(sga.Span);
        return sga;
    }

    /// <summary>Frees an sga.</summary>
    public void Free(in Sga sga) => Check(LibOS.SgaFree(sga));

    /// <summary>Pushes <paramref name="sga"/> and completes when it is sent (the caller still frees it).</summary>
    public async ValueTask PushAsync(Sga sga) => (await LibOS.PushAsync(Qd, sga).ConfigureAwait(false)).ThrowIfFailed();

    /// <summary>Pops the next item; the returned sga is the caller's to free.</summary>
    public async ValueTask<Sga> PopAsync() => (await LibOS.PopAsync(Qd).ConfigureAwait(false)).ThrowIfFailed().Sga;

    /// <summary>Throws a <see cref="DemiException"/> when <paramref name="errno"/> is not 0.</summary>
    protected static void Check(int errno)
    {
        if (errno != 0)
            ThrowHelper.ThrowDemi(errno);
    }

    /// <summary>Closes the descriptor; pending operations fail with ECANCELED.</summary>
    public void Dispose()
    {
        LibOS.Close(Qd);
        GC.SuppressFinalize(this);
    }
}
