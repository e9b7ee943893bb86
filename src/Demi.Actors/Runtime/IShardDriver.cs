namespace Demi.Runtime;

/// <summary>A backend's per-shard I/O engine, run by the shard thread between mailbox drains.</summary>
public interface IShardDriver : IDisposable
{
    /// <summary>
    /// One turn of I/O: receive a burst, run the protocol stack, fire due timers, flush a burst.
    /// Returns the amount of work done (0 when idle), which decides whether the shard may park.
    /// </summary>
    int Poll();

    /// <summary>
    /// Called at the start of each round of the shard loop, before the mailbox is drained and
    /// <see cref="Poll"/> runs: a driver may cache per-round state (a clock reading) until its poll ends.
    /// </summary>
    void BeginRound()
    {
    }

    /// <summary>Next timer deadline as a <see cref="System.Diagnostics.Stopwatch"/> timestamp, or <see cref="long.MaxValue"/>.</summary>
    long NextDeadline { get; }
}

/// <summary>Something registered with a shard's epoll set; called on the shard thread when its fd is ready.</summary>
public interface IEpollHandler
{
    /// <summary>The fd is ready with <paramref name="events"/> (EPOLLIN, EPOLLOUT, ...).</summary>
    void OnReady(uint events);
}
