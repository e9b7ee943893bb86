using System.Threading.Tasks.Sources;

namespace Demi.Internal;

/// <summary>
/// One in-flight operation. Reused across tokens (the generation tells them apart) and doubles as
/// the pooled <see cref="IValueTaskSource{TResult}"/> behind the async API, so awaiting allocates nothing.
/// </summary>
internal sealed class TokenSlot : IValueTaskSource<QResult>
{
    public const int Free = 0;
    public const int Pending = 1;
    public const int Completed = 2;

    private readonly TokenTable _owner;
    private ManualResetValueTaskSourceCore<QResult> _core;

    public TokenSlot(TokenTable owner, int index)
    {
        _owner = owner;
        Index = index;
        _core.RunContinuationsAsynchronously = true; // never run app code on the shard thread
    }

    public int Index { get; }

    public int State;

    public uint Generation = 1;

    public bool AsyncOwned;

    /// <summary>An awaiter registered a continuation (its GetResult is coming): never reclaimed.</summary>
    public volatile bool Awaited;

    /// <summary>When an async-owned operation completed (Stopwatch ticks), to tell abandoned results from fresh ones.</summary>
    public long CompletedAt;

    /// <summary>Completion order on the completing shard (for WaitNextN; no counter is shared across shards).</summary>
    public long Sequence;

    /// <summary>The shard that completed the operation.</summary>
    public int ShardId;

    /// <summary>The thread parked waiting for this token, if any (woken by the completer).</summary>
    public TokenWaiter? Waiter;

    public QResult Result;

    public short Version => _core.Version;

    public ulong Token => ((ulong)Generation << 32) | (uint)(Index + 1);

    public void Reset() => _core.Reset();

    public void SetResult(in QResult result) => _core.SetResult(result);

    public QResult GetResult(short token)
    {
        var result = _core.GetResult(token);
        // Retire the ValueTask's version before the slot is recycled: a second await (or GetResult) of
        // the same ValueTask is then an InvalidOperationException, as with .NET's own pooled sources,
        // instead of a second release of the slot.
        _core.Reset();
        _owner.Release(this);
        return result;
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        Awaited = true;
        _core.OnCompleted(continuation, state, token, flags);
    }
}
