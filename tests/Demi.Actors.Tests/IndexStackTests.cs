using Demi.Internal;

namespace Demi.Actors.Tests;

/// <summary>The shared free list's batch operations (one compare-and-swap per shard cache refill or spill).</summary>
public sealed class IndexStackTests
{
    [Fact]
    public void PopManyAndPushManyKeepEveryIndexExactlyOnce()
    {
        var stack = new IndexStack(100, full: true);
        var taken = new int[30];
        Assert.Equal(30, stack.TryPopMany(taken));
        Assert.Equal(70, stack.Count);
        Assert.Equal(Enumerable.Range(0, 30), taken); // the top of a full stack is 0, 1, 2, ...
        stack.PushMany(taken.AsSpan(10, 20));
        Assert.Equal(90, stack.Count);
        Assert.True(stack.TryPop(out int top));
        Assert.Equal(10, top); // the first pushed ends on top
        var rest = new int[200];
        Assert.Equal(89, stack.TryPopMany(rest));
        Assert.Equal(0, stack.TryPopMany(rest));
        var all = rest[..89].Append(top).Concat(taken[..10]).Order();
        Assert.Equal(Enumerable.Range(0, 100), all);
    }

    [Fact]
    public void ConcurrentBatchAndSingleOperationsLoseAndDuplicateNothing()
    {
        const int Capacity = 4096;
        var stack = new IndexStack(Capacity, full: true);
        var owners = new int[Capacity]; // 1 while a thread holds the index
        int violations = 0;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var batch = new int[16];
            var random = new Random(t);
            for (int round = 0; round < 20_000; round++)
            {
                int n;
                if (random.Next(2) == 0)
                {
                    n = stack.TryPopMany(batch.AsSpan(0, random.Next(1, 17)));
                }
                else
                {
                    n = stack.TryPop(out batch[0]) ? 1 : 0;
                }
                for (int i = 0; i < n; i++)
                {
                    if (Interlocked.Exchange(ref owners[batch[i]], 1) != 0)
                        Interlocked.Increment(ref violations);
                }
                for (int i = 0; i < n; i++)
                    Volatile.Write(ref owners[batch[i]], 0);
                if (n > 1)
                    stack.PushMany(batch.AsSpan(0, n));
                else if (n == 1)
                    stack.Push(batch[0]);
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(60))));
        Assert.Equal(0, violations);
        Assert.Equal(Capacity, stack.Count);
        var drained = new int[Capacity + 1];
        Assert.Equal(Capacity, stack.TryPopMany(drained));
        Assert.Equal(Enumerable.Range(0, Capacity), drained[..Capacity].Order());
    }
}
