using Demi.Runtime;
using Demi.Tests.Shared;

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
        long ticksBefore = ThreadCpu.Ticks(shard.NativeThreadId);
        Thread.Sleep(1000);
        long ticksUsed = ThreadCpu.Ticks(shard.NativeThreadId) - ticksBefore;
        // USER_HZ is 100: a spinning shard would use ~100 ticks per second, a parked one ~0.
        Assert.True(ticksUsed < 20, $"the idle shard thread used {ticksUsed} CPU ticks in 1 s");
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
