using Demi.Inet;
using Demi.Runtime;
using Demi.Tests.Shared;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;
using Xunit.Abstractions;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// A DPDK queue has no fd to wait on, so an idle shard naps on a timer instead of parking on the
/// queue: short naps right after work, growing to a millisecond once it has been idle for a while.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class IdleNapTests(ITestOutputHelper output)
{
    [Fact]
    public void An_idle_dpdk_shard_naps_a_millisecond_at_a_time_and_still_answers()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DpdkOverVeth.Create(veth, VethSide.A, out _, idle: IdleStrategy.Park);
        var shard = libOS.Shards[0];
        Assert.True(InetBackend.StackOf(shard)!.WaitFd < 0, "a DPDK queue was expected to have no wait fd");
        var echo = KernelPeerScenarios.StartDemiUdpEcho(libOS);

        Thread.Sleep(300);
        long parksBefore = shard.Parks;
        long ticksBefore = ThreadCpu.Ticks(shard.NativeThreadId);
        Thread.Sleep(1000);
        long ticks = ThreadCpu.Ticks(shard.NativeThreadId) - ticksBefore;
        long parks = shard.Parks - parksBefore;
        output.WriteLine($"idle second: {ticks} CPU ticks, {parks} naps");
        Assert.True(ticks < 10, $"the idle shard used {ticks} ticks (1/100 s) in a second: it spins instead of napping");
        // Nothing can wake it but its timer: about a thousand 1 ms naps a second. Far more means the
        // naps stayed at their post-work length; far fewer, that it slept past its poll interval.
        Assert.InRange(parks, 200, 2000);

        KernelPeerScenarios.KernelUdpClientIsEchoed(veth, echo, 50);
        echo.Stop(DpdkOverVeth.Timeout);
    }
}
