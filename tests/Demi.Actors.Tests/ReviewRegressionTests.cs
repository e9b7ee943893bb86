using System.Reactive.Linq;

namespace Demi.Actors.Tests;

/// <summary>Regressions found in review: each failed before its fix.</summary>
public sealed class ReviewRegressionTests
{
    [Fact]
    public void PostConnectCompletesAndConnects()
    {
        using var libOS = new LibOS();
        var (listener, local) = TestUtil.TcpListener(libOS);
        Assert.Equal(0, libOS.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        using var connected = new ManualResetEventSlim();
        var results = new List<QResult>();
        using var s = libOS.CompletionsOf(client).Subscribe(r =>
        {
            results.Add(r);
            connected.Set();
        });
        Assert.Equal(0, libOS.PostConnect(client, local));
        Assert.True(connected.Wait(TestUtil.Timeout));
        Assert.Equal(Opcode.Connect, Assert.Single(results).Opcode);
        Assert.Equal(0, libOS.GetPeerName(client, out var peer));
        Assert.Equal(local, peer);
    }

    [Fact]
    public void ADescriptorsStreamEndsAtCloseAndDoesNotSeeItsSuccessor()
    {
        using var libOS = new LibOS();
        Assert.Equal(0, libOS.Queue(out int first));
        var seen = new List<QResult>();
        bool completed = false;
        using var s = libOS.CompletionsOf(first).Subscribe(seen.Add, () => completed = true);
        Assert.Equal(0, libOS.Pop(out var popQt, first));
        Assert.Equal(0, libOS.Close(first));
        Assert.Equal(0, libOS.Wait(out _, popQt, TestUtil.Timeout));
        Assert.True(completed);
        Assert.Equal(Errno.ECANCELED, Assert.Single(seen).Ret);

        Assert.Equal(0, libOS.Queue(out int second));
        Assert.Equal(first, second); // the number is reused...
        Assert.Equal(0, libOS.Push(out var qt, second, TestUtil.Alloc(libOS, "x")));
        TestUtil.WaitOk(libOS, qt);
        Assert.Single(seen); // ...but the old stream does not see the new descriptor
    }

    [Fact]
    public void ShardsNeverBlockOnEachOther()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        int udp0 = -1, udp1 = -1;
        // Descriptors go round robin; find one per shard.
        var sockets = Enumerable.Range(0, 4).Select(_ => TestUtil.UdpSocket(libOS)).ToList();
        udp0 = sockets.First(q => libOS.GetActor(q)!.Shard.Id == 0);
        udp1 = sockets.First(q => libOS.GetActor(q)!.Shard.Id == 1);
        int fromShard0 = -1, closeFromShard0 = -1;
        // A control call made on shard 0's thread for shard 1's descriptor is refused rather than blocking.
        libOS.Shards[0].Invoke(() =>
        {
            fromShard0 = libOS.GetSockName(udp1, out _);
            closeFromShard0 = libOS.Close(udp1);
            return 0;
        });
        Assert.Equal(Errno.EDEADLK, fromShard0);
        Assert.Equal(0, closeFromShard0); // a close is posted instead
        Assert.True(SpinWait.SpinUntil(() => libOS.GetActor(udp1) is null, TestUtil.Timeout), "the close posted from shard 0 never ran");
        Assert.Equal(Errno.EBADF, libOS.GetSockName(udp1, out _));
        Assert.Equal(0, libOS.GetSockName(udp0, out _));
    }

    [Fact]
    public void FireAndForgetOperationsAreBounded()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 64 });
        int qd = TestUtil.UdpSocket(libOS);
        int accepted = 0, refused = 0;
        for (int i = 0; i < 1000; i++)
        {
            if (libOS.PostPop(qd) == 0)
                accepted++;
            else
                refused++;
        }
        Assert.Equal(64, accepted);
        Assert.Equal(1000 - 64, refused);
        Assert.Equal(0, libOS.Close(qd)); // the pending pops complete as ECANCELED and free their places
        int qd2 = TestUtil.UdpSocket(libOS);
        // Every one of the 64 places comes back (as the cancellations complete), and no more than 64.
        int again = 0;
        Assert.True(SpinWait.SpinUntil(() =>
        {
            if (libOS.PostPop(qd2) == 0)
                again++;
            return again == 64;
        }, TestUtil.Timeout), $"only {again} of the 64 places came back after the close");
        Assert.Equal(Errno.EAGAIN, libOS.PostPop(qd2));
    }

    [Fact]
    public void FireAndForgetOperationsAreBoundedOnEachShard()
    {
        // Each shard counts its own fire-and-forget operations (one shared counter was a cache line
        // every core wrote per operation): a full shard does not refuse posts to another.
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2, MaxTokens = 16 });
        var onShard = new int[2];
        for (int made = 0; made < 8 && (onShard[0] == 0 || onShard[1] == 0); made++)
        {
            int qd = TestUtil.UdpSocket(libOS);
            int shard = libOS.GetActor(qd)!.Shard.Id;
            if (onShard[shard] == 0)
                onShard[shard] = qd;
        }
        Assert.True(onShard[0] != 0 && onShard[1] != 0, "no UDP socket landed on one of the two shards");
        foreach (int qd in onShard)
        {
            for (int i = 0; i < 16; i++)
                Assert.Equal(0, libOS.PostPop(qd));
            Assert.Equal(Errno.EAGAIN, libOS.PostPop(qd));
        }
    }

    [Fact]
    public void ADoubleFreeDuringAPushIsAShardFaultNotACrash()
    {
        using var libOS = new LibOS();
        int a = TestUtil.UdpSocket(libOS), b = TestUtil.UdpSocket(libOS);
        var sga = TestUtil.Alloc(libOS, "twice");
        var destination = TestUtil.LocalOf(libOS, b); // before holding the shard: control calls run on it
        // Hold the shard so the push is still queued when the app frees the buffer twice.
        using var hold = new ManualResetEventSlim();
        using var holding = new ManualResetEventSlim();
        Assert.Equal(0, libOS.Queue(out int q));
        var blocker = new Thread(() => libOS.Shards[0].Invoke(() => { holding.Set(); hold.Wait(); return 0; }));
        blocker.Start();
        try
        {
            Assert.True(holding.Wait(TestUtil.Timeout));
            Assert.Equal(0, libOS.PushTo(out var qt, a, sga, destination));
            Assert.Equal(0, libOS.SgaFree(sga));
            Assert.Equal(0, libOS.SgaFree(sga)); // misuse: the push's reference is gone now
        }
        finally
        {
            hold.Set(); // never leave the shard blocked, or disposing the libOS would wait forever
        }
        Assert.True(blocker.Join(TestUtil.Timeout));
        Assert.True(SpinWait.SpinUntil(() => libOS.ShardFaults > 0, TestUtil.Timeout));
        // The shard still serves.
        Assert.Equal(0, libOS.Push(out var memQt, q, TestUtil.Alloc(libOS, "still here")));
        TestUtil.WaitOk(libOS, memQt);
    }
}
