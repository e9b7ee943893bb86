using Demi.Internal;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>
/// The shard's own posts: a ring whose messages are served in their slot. Order, capacity, and the slot
/// of a message being served when a post made meanwhile grows the ring.
/// </summary>
public sealed class ShardMailboxTests
{
    private static ShardMessage Numbered(ulong n) => new() { Kind = MessageKind.Pop, Qt = n };

    private static void PostNumbered(ShardMailbox mailbox, ulong from, ulong to)
    {
        for (ulong i = from; i < to; i++)
            Assert.True(mailbox.TryPostLocal(Numbered(i)));
    }

    private static void AssertServedInOrder(ShardMailbox mailbox, ulong from, ulong to)
    {
        for (ulong i = from; i < to; i++)
        {
            Assert.Equal(i, mailbox.PeekLocal().Qt);
            mailbox.RemoveLocal();
        }
    }

    [Fact]
    public void LocalPostsComeOutInOrderAcrossGrowth()
    {
        var mailbox = new ShardMailbox(capacity: 1000);
        ulong next = 0, expected = 0;
        // Interleaved posts and removals so that the ring wraps before it grows.
        for (int round = 0; round < 50; round++)
        {
            for (int i = 0; i < 7; i++)
                Assert.True(mailbox.TryPostLocal(Numbered(next++)));
            for (int i = 0; i < 3; i++)
            {
                Assert.True(mailbox.HasLocal);
                Assert.Equal(expected++, mailbox.PeekLocal().Qt);
                mailbox.RemoveLocal();
            }
        }
        Assert.Equal((int)(next - expected), mailbox.Count);
        while (mailbox.HasLocal)
        {
            Assert.Equal(expected++, mailbox.PeekLocal().Qt);
            mailbox.RemoveLocal();
        }
        Assert.Equal(next, expected);
        Assert.False(mailbox.HasPending);
    }

    [Fact]
    public void MessageBeingServedKeepsItsContentWhenAPostGrowsTheRing()
    {
        var mailbox = new ShardMailbox(capacity: 1000);
        PostNumbered(mailbox, 0, 64);
        ref var served = ref mailbox.PeekLocal();
        // What a handler does while its message is served: post more, past the ring's size.
        PostNumbered(mailbox, 64, 200);
        Assert.Equal(0UL, served.Qt);
        Assert.Equal(MessageKind.Pop, served.Kind);
        mailbox.RemoveLocal();
        AssertServedInOrder(mailbox, 1, 200);
        Assert.False(mailbox.HasLocal);
    }

    [Fact]
    public void FullOrClosedMailboxRefusesLocalPostsAndReservations()
    {
        var mailbox = new ShardMailbox(capacity: 3);
        PostNumbered(mailbox, 0, 3);
        Assert.False(mailbox.TryPostLocal(Numbered(3)));
        mailbox.TryReserveLocal(out bool reserved);
        Assert.False(reserved);
        mailbox.RemoveLocal();
        ref var slot = ref mailbox.TryReserveLocal(out reserved);
        Assert.True(reserved);
        Assert.Equal(0UL, slot.Qt); // a reserved slot starts empty
        mailbox.Close();
        mailbox.RemoveLocal();
        Assert.False(mailbox.TryPostLocal(Numbered(9)));
    }
}

/// <summary>The per-shard bound on fire-and-forget operations, counted on and off the shard's thread.</summary>
public sealed class DetachedOperationsTests
{
    [Fact]
    public void LimitHoldsForPostsFromTheShardThreadAndFromOthers()
    {
        var shardThread = Thread.CurrentThread; // this test thread plays the shard
        var detached = new DetachedOperations(limit: 4, shardThread);
        Assert.True(detached.TryAcquire());
        Assert.True(detached.TryAcquire());
        bool[] elsewhere = new bool[3];
        var other = new Thread(() =>
        {
            elsewhere[0] = detached.TryAcquire();
            elsewhere[1] = detached.TryAcquire();
            elsewhere[2] = detached.TryAcquire(); // the fifth: over the limit
        });
        other.Start();
        other.Join();
        Assert.Equal([true, true, false], elsewhere);
        Assert.Equal(4, detached.InFlight);
        Assert.False(detached.TryAcquire());
        detached.Release(); // a completion, on the shard
        Assert.Equal(3, detached.InFlight);
        var releaser = new Thread(detached.Release); // a post that failed after taking its place, elsewhere
        releaser.Start();
        releaser.Join();
        Assert.Equal(2, detached.InFlight);
        Assert.True(detached.TryAcquire());
        Assert.Equal(3, detached.InFlight);
    }
}
