using Demi.Runtime;

namespace Demi.Actors.Tests;

public sealed class RuntimeTests
{
    [Fact]
    public void ShardsArePinnedToTheConfiguredCores()
    {
        var cores = CpuSet.AllowedCores().ToArray();
        using var libOS = new LibOS(new LibOSOptions { Cores = CpuSet.Format(cores) });
        Assert.Equal(cores.Length, libOS.Shards.Count);
        foreach (var shard in libOS.Shards)
        {
            var allowed = shard.Invoke(() => CpuSet.AllowedCores().Single());
            Assert.Equal(shard.Core, allowed);
        }
    }

    [Fact]
    public void ACoreThatDoesNotExistIsAConfigurationError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new LibOS(new LibOSOptions { Cores = "0,4096" }));
        Assert.Contains("4096", ex.Message);
        Assert.Throws<ArgumentException>(() => new LibOS(new LibOSOptions { Cores = "1-0" }));
        Assert.Throws<ArgumentException>(() => new LibOS(new LibOSOptions { Cores = "x" }));
    }

    [Fact]
    public void CpuListsParse()
    {
        Assert.Equal("0-1", CpuSet.Format([0, 1]));
        Assert.Equal("0,2-4", CpuSet.Format([4, 0, 2, 3]));
        Assert.Equal([0], CpuSet.Parse("0"));
    }

    [Fact]
    public void AnIdleShardParksInsteadOfSpinning()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.SpinThenPark });
        var shard = libOS.Shards[0];
        Thread.Sleep(300);
        long parks = shard.Parks;
        Assert.True(parks >= 1, "an idle spin-then-park shard should have parked");
        var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        Thread.Sleep(500);
        var cpuUsed = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        Assert.True(cpuUsed < TimeSpan.FromMilliseconds(250), $"idle libOS used {cpuUsed.TotalMilliseconds} ms CPU in 500 ms");
        // And it still wakes up for work.
        Assert.Equal(0, libOS.Queue(out int q));
        Assert.Equal(0, libOS.Push(out var qt, q, TestUtil.Alloc(libOS, "wake")));
        TestUtil.WaitOk(libOS, qt);
    }

    [Fact]
    public void ABusySpinningShardNeverParks()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardIdle = IdleStrategy.BusySpin });
        Thread.Sleep(200);
        Assert.Equal(0, libOS.Shards[0].Parks);
    }
}
