using System.Collections.Concurrent;
using System.Reactive.Linq;

namespace Demi.Actors.Tests;

public sealed class ConcurrencyTests
{
    [Fact]
    public void ManyThreadsLoseAndDuplicateNoCompletion()
    {
        // 4 threads × 12,500 push+pop pairs = 100,000 operations through two shards.
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        const int Threads = 4, PairsPerThread = 12_500;
        var observed = new ConcurrentDictionary<ulong, int>();
        long observedCount = 0;
        using var subscription = libOS.Completions.Subscribe(r =>
        {
            observed.AddOrUpdate(r.Qt, 1, (_, n) => n + 1);
            Interlocked.Increment(ref observedCount);
        });
        var redeemed = new ConcurrentBag<ulong>();
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            Assert.Equal(0, libOS.Queue(out int q));
            var sga = libOS.SgaAlloc(8);
            for (int i = 0; i < PairsPerThread; i++)
            {
                BitConverter.TryWriteBytes(sga.Span, (long)i);
                Assert.Equal(0, libOS.Push(out var pushQt, q, sga));
                Assert.Equal(0, libOS.Pop(out var popQt, q));
                Assert.Equal(0, libOS.Wait(out var push, pushQt, TestUtil.Timeout));
                Assert.Equal(0, libOS.Wait(out var pop, popQt, TestUtil.Timeout));
                Assert.Equal(Opcode.Push, push.Opcode);
                Assert.Equal(Opcode.Pop, pop.Opcode);
                Assert.Equal(pushQt, push.Qt);
                Assert.Equal(popQt, pop.Qt);
                Assert.Equal(i, BitConverter.ToInt64(pop.Sga.Span));
                libOS.SgaFree(pop.Sga); // drops the push's reference handed to the popper
                redeemed.Add(pushQt);
                redeemed.Add(popQt);
            }
            libOS.SgaFree(sga);
        })).ToArray();
        foreach (var w in workers)
            w.Start();
        foreach (var w in workers)
            Assert.True(w.Join(TimeSpan.FromSeconds(120)));

        Assert.Equal(Threads * PairsPerThread * 2, redeemed.Count);
        Assert.Equal(Threads * PairsPerThread * 2, Interlocked.Read(ref observedCount));
        // Tokens are recycled, so the same qt may legitimately complete several times over time; every
        // completion Rx saw must have been redeemed by exactly one Wait, and none is left over.
        Assert.Equal(redeemed.Count, observed.Values.Sum());
        Assert.Equal(0, libOS.TokensInUse);
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public void MemoryQueuePingPongBetweenThreads()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        Assert.Equal(0, libOS.Queue(out int ping));
        Assert.Equal(0, libOS.Queue(out int pong));
        const int Rounds = 5_000;
        var responder = new Thread(() =>
        {
            for (int i = 0; i < Rounds; i++)
            {
                Assert.Equal(0, libOS.Pop(out var qt, ping));
                var item = TestUtil.WaitOk(libOS, qt);
                int value = BitConverter.ToInt32(item.Sga.Span);
                BitConverter.TryWriteBytes(item.Sga.Span, value + 1);
                Assert.Equal(0, libOS.Push(out var pushQt, pong, item.Sga));
                TestUtil.WaitOk(libOS, pushQt);
                libOS.SgaFree(item.Sga);
            }
        });
        responder.Start();
        for (int i = 0; i < Rounds; i++)
        {
            var sga = libOS.SgaAlloc(4);
            BitConverter.TryWriteBytes(sga.Span, i * 2);
            Assert.Equal(0, libOS.Push(out var pushQt, ping, sga));
            Assert.Equal(0, libOS.Pop(out var popQt, pong));
            TestUtil.WaitOk(libOS, pushQt);
            var reply = TestUtil.WaitOk(libOS, popQt);
            Assert.Equal(i * 2 + 1, BitConverter.ToInt32(reply.Sga.Span));
            libOS.SgaFree(reply.Sga);
            libOS.SgaFree(sga);
        }
        Assert.True(responder.Join(TestUtil.Timeout));
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public async Task RxSubscribersSeeCompletionsInOrder()
    {
        using var libOS = new LibOS();
        Assert.Equal(0, libOS.Queue(out int q));
        var perQueue = new List<QResult>();
        var all = new List<QResult>();
        using var s1 = libOS.CompletionsOf(q).Where(r => r.Opcode == Opcode.Pop).Subscribe(perQueue.Add);
        using var s2 = libOS.Completions.Subscribe(all.Add);
        var tokens = new List<ulong>();
        for (int i = 0; i < 200; i++)
        {
            var sga = libOS.SgaAlloc(4);
            BitConverter.TryWriteBytes(sga.Span, i);
            Assert.Equal(0, libOS.Push(out var pushQt, q, sga));
            Assert.Equal(0, libOS.Pop(out var popQt, q));
            tokens.Add(pushQt);
            tokens.Add(popQt);
        }
        foreach (var qt in tokens)
            TestUtil.WaitOk(libOS, qt);
        await Task.Yield();
        Assert.Equal(Enumerable.Range(0, 200), perQueue.Select(r => BitConverter.ToInt32(r.Sga.Span)));
        Assert.Equal(tokens, all.Select(r => r.Qt));
    }
}
