namespace Demi.Internal;

/// <summary>
/// Counts one shard's fire-and-forget operations in flight. They take no token (their result only
/// goes to the Rx streams), but each shard bounds them by the token limit so that nothing queues
/// without bound.
/// </summary>
internal sealed class DetachedOperations
{
    private readonly int _limit;
    private int _inFlight;

    public DetachedOperations(int limit) => _limit = limit;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Takes a place for one operation; false when the limit is reached (EAGAIN).</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _inFlight) <= _limit)
            return true;
        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    /// <summary>One operation finished (or was never posted).</summary>
    public void Release() => Interlocked.Decrement(ref _inFlight);
}
