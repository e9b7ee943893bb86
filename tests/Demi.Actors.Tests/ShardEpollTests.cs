using Demi.Internal.Native;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>
/// Wake-only fds (a queue the driver polls every round, such as an AF_XDP socket) are in the shard's
/// epoll set only while it parks: a socket in an epoll set pays for the set's wait entry on every
/// readiness change, which a busy shard does not need.
/// </summary>
public sealed unsafe class ShardEpollTests
{
    [Fact]
    public void AWakeOnlyFdIsWatchedOnlyWhileArmed()
    {
        using var epoll = new ShardEpoll(ex => throw ex);
        int fd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Assert.True(fd >= 0, "eventfd failed");
        try
        {
            var handler = new CountingHandler();
            int registration = epoll.Register(fd, Libc.EPOLLIN, handler, wakeOnly: true);
            ulong one = 1;
            Assert.Equal(sizeof(ulong), (int)Libc.write(fd, &one, sizeof(ulong))); // readable from now on
            var events = stackalloc Libc.EpollEvent[ShardEpoll.MaxEvents];

            Assert.Equal(0, epoll.Poll(events, 0)); // busy: not in the set, so not reported
            Assert.False(epoll.HasPollableFds);

            epoll.ArmWakeOnly();
            Assert.Equal(1, epoll.Poll(events, 5_000)); // parked: a fd already ready when armed wakes it at once
            Assert.Equal(1, handler.Calls);
            epoll.DisarmWakeOnly();

            Assert.Equal(0, epoll.Poll(events, 0)); // back at work: out of the set again
            epoll.Unregister(registration, fd);
            epoll.ArmWakeOnly();
            Assert.Equal(0, epoll.Poll(events, 0)); // unregistered: not armed either
            epoll.DisarmWakeOnly();
            Assert.Equal(1, handler.Calls);
        }
        finally
        {
            Libc.close(fd);
        }
    }

    [Fact]
    public void AParkedShardIsWokenByAWakeOnlyFd()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.Park });
        var shard = libOS.Shards[0];
        int fd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        Assert.True(fd >= 0, "eventfd failed");
        var handler = new CountingHandler();
        try
        {
            int registration = shard.Invoke(() => shard.RegisterFd(fd, Libc.EPOLLIN | Libc.EPOLLET, handler, wakeOnly: true));
            long parks = shard.Parks;
            Assert.True(SpinWait.SpinUntil(() => shard.Parks > parks, TestUtil.Timeout), "the idle shard never parked");
            ulong one = 1;
            Assert.Equal(sizeof(ulong), (int)Libc.write(fd, &one, sizeof(ulong)));
            Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref handler.Calls) > 0, TestUtil.Timeout),
                "a parked shard was not woken by its wake-only fd");
            shard.Invoke(() => { shard.UnregisterFd(registration, fd); return 0; });
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private sealed class CountingHandler : IEpollHandler
    {
        public int Calls;

        public void OnReady(uint events) => Interlocked.Increment(ref Calls);
    }
}
