using Demi.Internal;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>Issue 10 item 4: completions wake only their own waiters; shards cache pool buffers without losing any.</summary>
public sealed class PerShardStateTests
{
    [Fact]
    public void ACompletionWakesOnlyTheThreadWaitingForItsToken()
    {
        using var libOS = new LibOS(new LibOSOptions { WaitIdle = IdleStrategy.Park });
        Assert.Equal(0, libOS.Queue(out int qa));
        Assert.Equal(0, libOS.Queue(out int qb));
        Assert.Equal(0, libOS.Pop(out ulong popA, qa));
        Assert.Equal(0, libOS.Pop(out ulong popB, qb));
        TokenWaiter? waiterA = null, waiterB = null;
        int errA = -1, errB = -1;
        var parkedA = new ManualResetEventSlim();
        var threadA = new Thread(() => { waiterA = TokenWaiter.ForCurrentThread; parkedA.Set(); errA = libOS.Wait(out _, popA, TestUtil.Timeout); });
        var threadB = new Thread(() => { waiterB = TokenWaiter.ForCurrentThread; errB = libOS.Wait(out _, popB, TestUtil.Timeout); });
        threadA.Start();
        threadB.Start();
        Assert.True(parkedA.Wait(TestUtil.Timeout));
        Assert.True(SpinWait.SpinUntil(() => (threadA.ThreadState & ThreadState.WaitSleepJoin) != 0 && (threadB.ThreadState & ThreadState.WaitSleepJoin) != 0, TestUtil.Timeout));

        var sga = TestUtil.Alloc(libOS, "to-b");
        Assert.Equal(0, libOS.Push(out ulong push, qb, sga));
        Assert.True(threadB.Join(TestUtil.Timeout));
        Assert.Equal(0, errB);
        Assert.Equal(0, libOS.Wait(out _, push, TestUtil.Timeout));
        Assert.True(threadA.IsAlive, "A's token has not completed, so A must still be waiting");
        Assert.Equal(0, waiterA!.Wakes); // B's completion did not wake A
        Assert.True(waiterB!.Wakes >= 1);

        Assert.Equal(0, libOS.Push(out ulong pushA, qa, sga));
        Assert.True(threadA.Join(TestUtil.Timeout));
        Assert.Equal(0, errA);
        Assert.Equal(0, libOS.Wait(out _, pushA, TestUtil.Timeout));
        Assert.Equal(0, libOS.SgaFree(sga));
    }

    [Fact]
    public void WaitNextNSeesCompletionsFromEveryShard()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2, WaitIdle = IdleStrategy.Park });
        var queues = new int[4];
        for (int i = 0; i < queues.Length; i++)
            Assert.Equal(0, libOS.Queue(out queues[i]));
        Assert.Equal(2, queues.Select(q => libOS.GetActor(q)!.Shard.Id).Distinct().Count());
        var results = new QResult[8];
        var pending = new HashSet<ulong>();
        var sgas = new List<Sga>();
        var waiter = new Thread(() =>
        {
            while (pending.Count > 0 && libOS.WaitNextN(results, out int n, TestUtil.Timeout) == 0)
            {
                lock (pending)
                {
                    for (int i = 0; i < n; i++)
                        pending.Remove(results[i].Qt);
                }
            }
        });
        lock (pending)
        {
            foreach (int q in queues)
            {
                var sga = TestUtil.Alloc(libOS, $"q{q}");
                sgas.Add(sga);
                Assert.Equal(0, libOS.Push(out ulong qt, q, sga));
                pending.Add(qt);
            }
        }
        waiter.Start();
        Assert.True(waiter.Join(TestUtil.Timeout));
        Assert.Empty(pending);
        foreach (var sga in sgas)
            Assert.Equal(0, libOS.SgaFree(sga));
    }

    [Fact]
    public void BuffersCachedByAShardAreCountedAndReturnedWhenItStops()
    {
        var libOS = new LibOS(new LibOSOptions { BufferCount = 4096 });
        var pool = libOS.Buffers.Pool;
        var shard = libOS.Shards[0];
        int cachedAfterRelease = shard.Invoke(() =>
        {
            var rented = new int[100];
            for (int i = 0; i < rented.Length; i++)
                Assert.True(pool.TryRent(out rented[i]));
            foreach (int index in rented)
                pool.Release(index);
            return pool.Available;
        });
        Assert.Equal(pool.Count, cachedAfterRelease); // buffers sitting in the shard's cache still count as available
        // App threads use the shared list; the shard keeps what it cached, so stop it and take everything.
        shard.Dispose();
        var all = new List<int>();
        while (pool.TryRent(out int index))
            all.Add(index);
        Assert.Equal(pool.Count, all.Count);
        Assert.Equal(pool.Count, all.Distinct().Count());
        foreach (int index in all)
            pool.Release(index);
        libOS.Dispose();
    }

    [Fact]
    public void ABufferIsNeverHandedOutTwiceAcrossShardsAndAppThreads()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2, BufferCount = 1024 });
        var pool = libOS.Buffers.Pool;
        var owner = new int[pool.Count];
        int conflicts = 0;
        int Churn()
        {
            var held = new Stack<int>();
            for (int round = 0; round < 20_000; round++)
            {
                if (held.Count < 16 && pool.TryRent(out int index))
                {
                    if (Interlocked.Exchange(ref owner[index], 1) != 0)
                        Interlocked.Increment(ref conflicts);
                    held.Push(index);
                }
                else if (held.Count > 0)
                {
                    int back = held.Pop();
                    Volatile.Write(ref owner[back], 0);
                    pool.Release(back);
                }
            }
            while (held.Count > 0)
            {
                int back = held.Pop();
                Volatile.Write(ref owner[back], 0);
                pool.Release(back);
            }
            return 0;
        }
        var threads = libOS.Shards.Select(s => new Thread(() => s.Invoke(Churn))).Append(new Thread(() => Churn())).ToList();
        threads.ForEach(t => t.Start());
        Assert.All(threads, t => Assert.True(t.Join(TestUtil.Timeout)));
        Assert.Equal(0, conflicts);
        Assert.Equal(pool.Count, pool.Available);
    }
}

/// <summary>The C ABI's EAGAIN scenario (tests/c/errors.c test_eagain) in C#: a full table of pending pops, closed, redeemed in batches.</summary>
[Collection(HeavyTests.Name)]
public sealed class FullTableRedeemTests
{
    [Fact]
    public void EveryCancelledPopOfAFullTableIsRedeemedByWaitNextN()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS);
        int issued = 0, err;
        while (issued < 200_000 && (err = libOS.Pop(out _, qd)) == 0)
            issued++;
        Assert.InRange(issued, 1, 199_999);
        Assert.Equal(0, libOS.Close(qd));
        var results = new QResult[1024];
        int redeemed = 0, cancelled = 0;
        while (redeemed < issued && libOS.WaitNextN(results, out int n, TimeSpan.FromSeconds(5)) == 0)
        {
            for (int i = 0; i < n; i++)
                cancelled += results[i].Opcode == Opcode.Failed && results[i].Ret == Errno.ECANCELED ? 1 : 0;
            redeemed += n;
        }
        Assert.Equal(issued, redeemed);
        Assert.Equal(issued, cancelled);
        Assert.Equal(Errno.ETIMEDOUT, libOS.WaitNextN(results, out _, TimeSpan.Zero));
    }
}
