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

/// <summary>
/// A socket the shard may poll itself while busy instead of watching it in its epoll set (a kernel
/// socket's wake callback runs for every datagram received and every send freed; one receive call per
/// round costs less for a few sockets). It is in the epoll set while the shard parks, with the events
/// it registered.
/// </summary>
internal interface IBusyPolledHandler : IEpollHandler
{
    /// <summary>
    /// False while the fd must be watched through epoll (a TCP socket that is listening or connecting);
    /// such a socket asks again with <see cref="Shard.BusyPollFd"/> once it can be polled.
    /// </summary>
    bool BusyPollable { get; }

    /// <summary>Does what the fd's readiness would trigger (receive, resume a blocked flush); true when that did work.</summary>
    bool PollWhileBusy();
}
