namespace Demi.Internal;

/// <summary>
/// Counts one shard's fire-and-forget operations in flight. They take no token (their result only
/// goes to the Rx streams), but each shard bounds them by the token limit so that nothing queues
/// without bound.
/// </summary>
/// <remarks>
/// The shard's own thread takes and finishes most of them (an echo's completion handler posts the next
/// push and pop), so its counts are plain writes of its own; other threads count theirs with interlocked
/// operations. In flight is taken minus finished, in wrapping arithmetic (each count may wrap; the
/// difference stays exact). A reader on another thread may see the shard's counts a little late: the
/// limit is a bound on queueing, not an exact figure, while both sides are busy.
/// </remarks>
internal sealed class DetachedOperations
{
    private readonly int _limit;
    private readonly Thread _shardThread;
    // Written by the shard thread only.
    private int _takenOnShard, _finishedOnShard;
    // Written by any thread, interlocked.
    private int _takenElsewhere, _finishedElsewhere;

    /// <summary>Creates the counter of the shard that runs on <paramref name="shardThread"/>.</summary>
    public DetachedOperations(int limit, Thread shardThread)
    {
        _limit = limit;
        _shardThread = shardThread;
    }

    public int InFlight => unchecked(Volatile.Read(ref _takenOnShard) + Volatile.Read(ref _takenElsewhere)
        - Volatile.Read(ref _finishedOnShard) - Volatile.Read(ref _finishedElsewhere));

    /// <summary>Takes a place for one operation; false when the limit is reached (EAGAIN).</summary>
    public bool TryAcquire()
    {
        if (Thread.CurrentThread == _shardThread)
        {
            if (InFlight >= _limit)
                return false;
            Volatile.Write(ref _takenOnShard, unchecked(_takenOnShard + 1));
            return true;
        }
        Interlocked.Increment(ref _takenElsewhere);
        if (InFlight <= _limit)
            return true;
        Interlocked.Decrement(ref _takenElsewhere);
        return false;
    }

    /// <summary>One operation finished (or was never posted).</summary>
    public void Release()
    {
        if (Thread.CurrentThread == _shardThread)
            Volatile.Write(ref _finishedOnShard, unchecked(_finishedOnShard + 1));
        else
            Interlocked.Increment(ref _finishedElsewhere);
    }
}
