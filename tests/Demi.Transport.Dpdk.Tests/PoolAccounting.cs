namespace Demi.Transport.Dpdk.Tests;

/// <summary>Where a DPDK backend's buffers are: what the accounting tests compare before and after traffic.</summary>
internal static class PoolAccounting
{
    /// <summary>
    /// Free buffers, lent buffers, buffers in flight and the queues' debt to the mempool, over every
    /// queue; and the mempool holds exactly the lent buffers.
    /// </summary>
    public static (int Free, long Lent, int InFlight, int Debt) Snapshot(DpdkBackend backend)
    {
        Assert.Equal(backend.Mbufs.Lent, backend.Mbufs.MempoolAvailable);
        return (backend.Mbufs.Pool.Available, backend.Mbufs.Lent, backend.Queues.Sum(q => q.InFlight), backend.Queues.Sum(q => q.GetStatistics().LendDebt));
    }

    /// <summary>Waits until the shards have reclaimed every transmitted buffer (they do on their next loop).</summary>
    public static void Settle(params DpdkBackend[] backends)
    {
        bool settled = SpinWait.SpinUntil(() => backends.All(b => b.Queues.All(q => q.InFlight == 0)), TimeSpan.FromSeconds(5));
        Assert.True(settled, "transmitted buffers were not reclaimed");
        Thread.Sleep(50);
    }
}
