namespace Demi.Actors.Tests;

/// <summary>Post* operations: completions only on the Rx streams, tokens recycled at once.</summary>
public sealed class FireAndForgetTests
{
    [Fact]
    public void PostedOperationsCompleteOnTheShardStreamAndLeaveNoToken()
    {
        using var libOS = new LibOS();
        int a = TestUtil.UdpSocket(libOS), b = TestUtil.UdpSocket(libOS);
        var received = new List<string>();
        var tokens = new List<ulong>();
        bool onShardThread = true;
        var pushed = 0;
        using var done = new CountdownEvent(20);
        using var subscription = libOS.CompletionsOf(b).Subscribe(r =>
        {
            onShardThread &= libOS.Shards.Any(s => s.IsCurrentThread);
            if (r.Opcode == Opcode.Pop)
            {
                tokens.Add(r.Qt);
                received.Add(TestUtil.Text(r.Sga));
                libOS.SgaFree(r.Sga);
                done.Signal();
            }
        });
        using var pushes = libOS.CompletionsOf(a).Subscribe(r =>
        {
            if (r.Opcode == Opcode.Push)
                Interlocked.Increment(ref pushed);
        });
        var bAddr = TestUtil.LocalOf(libOS, b);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(0, libOS.PostPop(b));
            var sga = TestUtil.Alloc(libOS, $"n{i}");
            Assert.Equal(0, libOS.PostPushTo(a, sga, bAddr));
            libOS.SgaFree(sga); // the posted push holds its own reference
        }
        Assert.True(done.Wait(TestUtil.Timeout));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"n{i}"), received);
        Assert.True(onShardThread, "per-descriptor completions run on the shard thread");
        Assert.All(tokens, qt => Assert.Equal(0ul, qt)); // fire-and-forget operations take no token
        Assert.Equal(0, libOS.ShardFaults);
        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref pushed) == 20, TestUtil.Timeout), $"{pushed} of 20 pushes completed");
        Assert.Equal(0, libOS.TokensInUse);
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public void PostedOperationsValidateLikeTheirWaitableTwins()
    {
        using var libOS = new LibOS();
        Assert.Equal(0, libOS.Queue(out int q));
        var sga = TestUtil.Alloc(libOS, "x");
        Assert.Equal(Errno.EBADF, libOS.PostPop(4242));
        Assert.Equal(Errno.EBADF, libOS.PostPushTo(q, sga, new Ipv4Endpoint(Ipv4Address.Loopback, 9)));
        var empty = sga;
        empty.Segment.Length = 0;
        Assert.Equal(Errno.EINVAL, libOS.PostPush(q, empty));
        Assert.Equal(Errno.EINVAL, libOS.PostAccept(q)); // demi_accept(3): a queue that does not support accept
    }

    [Fact]
    public void CompletionsOfAClosedDescriptorIsEmpty()
    {
        using var libOS = new LibOS();
        var results = new List<QResult>();
        bool completed = false;
        using var s = libOS.CompletionsOf(4242).Subscribe(results.Add, () => completed = true);
        Assert.True(completed);
        Assert.Empty(results);
    }
}
