using Demi.Internal;

namespace Demi.Actors.Tests;

/// <summary>Issue 16 items 6 and 7: results nobody collects do not hold token slots forever; a wait on the shard thread is EDEADLK.</summary>
public sealed class TokenLifetimeTests
{
    [Fact]
    public void OperationsCancelledByCloseDoNotExhaustTheTokens()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 100 });
        for (int i = 0; i < 100; i++)
        {
            int qd = TestUtil.UdpSocket(libOS);
            Assert.Equal(0, libOS.Pop(out _, qd)); // never waited for
            Assert.Equal(0, libOS.Close(qd));      // completes it ECANCELED
        }
        int q = TestUtil.UdpSocket(libOS);
        Assert.Equal(0, libOS.Pop(out ulong qt, q)); // was EAGAIN: 100 cancelled results held every slot
        Assert.Equal(0, libOS.Close(q));
        Assert.Equal(0, libOS.Wait(out var cancelled, qt, TestUtil.Timeout));
        Assert.Equal(Errno.ECANCELED, cancelled.Ret);
    }

    [Fact]
    public async Task AnAsyncOperationNeverAwaitedDoesNotHoldItsSlotForever()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 4 });
        Assert.Equal(0, libOS.Queue(out int q));
        var sga = TestUtil.Alloc(libOS, "x");
        for (int i = 0; i < 2; i++)
        {
            _ = libOS.PopAsync(q);                      // dropped: nobody will await it
            Assert.Equal(0, libOS.Push(out ulong push, q, sga));
            Assert.Equal(0, libOS.Wait(out _, push, TestUtil.Timeout));
        }
        Assert.True(SpinWait.SpinUntil(() => libOS.TokensInUse == 2, TestUtil.Timeout)); // two completed, unawaited
        await Task.Delay(TokenTable.AbandonedAsyncAge + TimeSpan.FromMilliseconds(100));
        var held = new List<ulong>();
        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(0, libOS.Pop(out ulong qt, q)); // the 3rd and 4th need the abandoned slots
            held.Add(qt);
        }
        Assert.Equal(Errno.EAGAIN, libOS.Pop(out _, q)); // the bound still holds for live operations
        Assert.Equal(0, libOS.Close(q));
        foreach (var qt in held)
            Assert.Equal(0, libOS.Wait(out _, qt, TestUtil.Timeout));
        Assert.Equal(0, libOS.SgaFree(sga));
        Assert.True(SpinWait.SpinUntil(() => libOS.Buffers.Pool.Available == libOS.Buffers.Pool.Count, TestUtil.Timeout),
            "the abandoned pops' buffers were freed with their slots");
    }

    [Fact]
    public void WaitInsideACompletionHandlerIsEdeadlk()
    {
        using var libOS = new LibOS();
        Assert.Equal(0, libOS.Queue(out int q));
        Assert.Equal(0, libOS.Pop(out ulong never, q));
        Assert.Equal(0, libOS.Queue(out int trigger));
        int waitErr = -1, pollErr = -1;
        var handled = new ManualResetEventSlim();
        using var subscription = libOS.CompletionsOf(trigger).Subscribe(_ =>
        {
            waitErr = libOS.Wait(out _, never, TimeSpan.FromSeconds(30)); // would block this shard for good
            pollErr = libOS.Wait(out _, never, TimeSpan.Zero);             // a poll does not block
            handled.Set();
        });
        var sga = TestUtil.Alloc(libOS, "go");
        Assert.Equal(0, libOS.PostPush(trigger, sga));
        Assert.True(handled.Wait(TestUtil.Timeout));
        Assert.Equal(Errno.EDEADLK, waitErr);
        Assert.Equal(Errno.ETIMEDOUT, pollErr);
        Assert.Equal(0, libOS.Close(q));
        Assert.Equal(0, libOS.SgaFree(sga));
    }
}
