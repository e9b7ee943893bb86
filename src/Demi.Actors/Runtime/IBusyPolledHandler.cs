namespace Demi.Runtime;

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
