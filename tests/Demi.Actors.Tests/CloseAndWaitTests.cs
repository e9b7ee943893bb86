namespace Demi.Actors.Tests;

public sealed class CloseAndWaitTests : IDisposable
{
    private readonly LibOS _libOS = new();

    public void Dispose() => _libOS.Dispose();

    [Fact]
    public void CloseCancelsPendingPopsAndAccepts()
    {
        int udp = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Pop(out var pop1, udp));
        Assert.Equal(0, _libOS.Pop(out var pop2, udp));
        var (listener, _) = TestUtil.TcpListener(_libOS);
        Assert.Equal(0, _libOS.Accept(out var accept, listener));
        Assert.Equal(0, _libOS.Queue(out int memory));
        Assert.Equal(0, _libOS.Pop(out var memoryPop, memory));

        Assert.Equal(0, _libOS.Close(udp));
        Assert.Equal(0, _libOS.Close(listener));
        Assert.Equal(0, _libOS.Close(memory));

        foreach (var qt in new[] { pop1, pop2, accept, memoryPop })
        {
            Assert.Equal(0, _libOS.Wait(out var result, qt, TestUtil.Timeout));
            Assert.Equal(Opcode.Failed, result.Opcode);
            Assert.Equal(Errno.ECANCELED, result.Ret);
            Assert.Equal(qt, result.Qt);
        }
    }

    [Fact]
    public void WaitAnyReturnsTheReadyOffsetAndKeepsTheRest()
    {
        int a = TestUtil.UdpSocket(_libOS), b = TestUtil.UdpSocket(_libOS), c = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Pop(out var qa, a));
        Assert.Equal(0, _libOS.Pop(out var qb, b));
        Assert.Equal(0, _libOS.Pop(out var qc, c));
        ulong[] tokens = [qa, qb, qc];
        Assert.Equal(Errno.ETIMEDOUT, _libOS.WaitAny(out _, out _, tokens, TimeSpan.Zero));

        Assert.Equal(0, _libOS.PushTo(out var p1, a, TestUtil.Alloc(_libOS, "to-c"), TestUtil.LocalOf(_libOS, c)));
        TestUtil.WaitOk(_libOS, p1);
        Assert.Equal(0, _libOS.WaitAny(out var result, out int offset, tokens, TestUtil.Timeout));
        Assert.Equal(2, offset);
        Assert.Equal("to-c", TestUtil.Text(result.Sga));

        Assert.Equal(0, _libOS.PushTo(out var p2, a, TestUtil.Alloc(_libOS, "to-a"), TestUtil.LocalOf(_libOS, a)));
        Assert.Equal(0, _libOS.PushTo(out var p3, a, TestUtil.Alloc(_libOS, "to-b"), TestUtil.LocalOf(_libOS, b)));
        TestUtil.WaitOk(_libOS, p2);
        TestUtil.WaitOk(_libOS, p3);
        // Both completed; WaitAny takes one, the other is kept for a later wait.
        Assert.Equal(0, _libOS.WaitAny(out result, out offset, tokens.AsSpan(0, 2), TestUtil.Timeout));
        int other = 1 - offset;
        Assert.Equal(0, _libOS.Wait(out var kept, tokens[other], TimeSpan.Zero));
        Assert.Equal(other == 0 ? "to-a" : "to-b", TestUtil.Text(kept.Sga));
        Assert.Equal(Errno.EINVAL, _libOS.WaitAny(out _, out _, ReadOnlySpan<ulong>.Empty, TimeSpan.Zero));
    }

    [Fact]
    public void WaitNextNReturnsCompletionsOldestFirst()
    {
        Assert.Equal(0, _libOS.Queue(out int q));
        var tokens = new List<ulong>();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(0, _libOS.Push(out var qt, q, TestUtil.Alloc(_libOS, $"m{i}")));
            tokens.Add(qt);
        }
        var results = new QResult[3];
        var seen = new List<ulong>();
        while (seen.Count < 5)
        {
            Assert.Equal(0, _libOS.WaitNextN(results, out int n, TestUtil.Timeout));
            Assert.InRange(n, 1, 3);
            seen.AddRange(results.Take(n).Select(r => r.Qt));
        }
        Assert.Equal(tokens, seen);
        Assert.Equal(Errno.ETIMEDOUT, _libOS.WaitNextN(results, out int none, TimeSpan.Zero));
        Assert.Equal(0, none);
        foreach (var qt in tokens)
            Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, qt, TimeSpan.Zero)); // consumed by WaitNextN
    }

    [Fact]
    public void ClosingTheLibOSCancelsEverything()
    {
        var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS);
        Assert.Equal(0, libOS.Pop(out var qt, qd));
        var observed = new List<QResult>();
        libOS.Completions.Subscribe(observed.Add);
        libOS.Dispose();
        var single = Assert.Single(observed);
        Assert.Equal(Opcode.Failed, single.Opcode);
        Assert.Equal(Errno.ECANCELED, single.Ret);
    }
}
