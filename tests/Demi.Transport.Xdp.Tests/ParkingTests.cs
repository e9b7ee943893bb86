using System.Globalization;
using Demi.Inet;
using Demi.Runtime;
using Demi.Tests.Shared;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// An idle XDP shard parks in epoll (its XSK fd registered in the shard's epoll set, plus the shard's
/// own eventfd, which steering writes only when the target shard is parked) instead of spinning, and
/// a packet wakes it.
/// </summary>
public sealed class ParkingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Idle_shards_park_and_wake_up_for_packets(int queues)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = queues });
        // Park as soon as a round finds no work: no spinning, no yielding.
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: queues, idle: IdleStrategy.Park);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        int echoed = 0;
        var server = DemiOverVeth.StartUdpEcho(libOS, qd, () => Interlocked.Increment(ref echoed));
        foreach (var shard in libOS.Shards)
            Assert.True(InetBackend.StackOf(shard)!.WaitFd >= 0, "the NIC queue has no fd to park on");

        // Idle: every shard sleeps (well under 10% of a core over a second), and does so by parking.
        Thread.Sleep(300);
        var parksBefore = libOS.Shards.Select(s => s.Parks).ToArray();
        var cpuBefore = libOS.Shards.Select(s => ThreadCpu.Ticks(s.NativeThreadId)).ToArray();
        Thread.Sleep(1000);
        for (int i = 0; i < libOS.Shards.Count; i++)
        {
            long ticks = ThreadCpu.Ticks(libOS.Shards[i].NativeThreadId) - cpuBefore[i];
            output.WriteLine($"shard {i}: {ticks} CPU ticks over 1 s idle, parks {parksBefore[i]} -> {libOS.Shards[i].Parks}");
            Assert.True(ticks < 10, $"shard {i} used {ticks} ticks (1/100 s) while idle: it spins instead of parking");
        }

        // Packets still wake it: five rounds 100 ms apart, a datagram on each of 16 flows. With 2 queues
        // the kernel puts each flow on a queue by its socket's random hash, so some land on the shard
        // that does not own the port and are steered through the eventfd to a parked owner (all 16 on
        // the owner's queue: 1 in 65,536; with 8 flows it was 1 in 256, and CI saw it happen).
        var parksMid = libOS.Shards.Select(s => s.Parks).ToArray();
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpMultiFlowEchoClient,
            veth.AddressA, "7", "16", "5", "2", "0.1");
        client.EnsureSuccess("python client");
        var parts = client.StandardOutput.Trim().Split(' ');
        Assert.Equal("ok 80", $"{parts[0]} {parts[1]}");
        double worstMs = double.Parse(parts[2], CultureInfo.InvariantCulture);
        output.WriteLine($"{queues} queue(s): worst echo RTT {worstMs} ms while parking; parks {string.Join(",", parksMid)} -> {string.Join(",", libOS.Shards.Select(s => s.Parks))}");
        // A parked shard wakes on its fd, not on its park timeout (up to a second).
        Assert.True(worstMs < 300, $"worst RTT {worstMs} ms: the shard slept through a packet");
        int owner = libOS.GetActor(qd)!.Shard.Id;
        Assert.True(libOS.Shards[owner].Parks > parksMid[owner] + 5, "the owner did not park between the datagrams");
        if (backend.Steering is { } s)
            Assert.True(s.ForwardedFrames > 0, "no datagram needed steering: the test did not wake a parked owner through the eventfd");
        Assert.Equal(0, libOS.Close(qd));
        Assert.True(server.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the server thread's pending pop");
    }

    [Fact]
    public void Idle_shards_stay_parked_after_a_burst_of_steered_frames()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2, idle: IdleStrategy.Park);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var server = DemiOverVeth.StartUdpEcho(libOS, qd);
        // A burst: 32 flows back to back, so the kernel uses both queues and half the frames are steered.
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpMultiFlowEchoClient,
            veth.AddressA, "7", "32", "40", "2", "0");
        client.EnsureSuccess("python client");
        Assert.StartsWith("ok 1280 ", client.StandardOutput.Trim());
        var steering = backend.Steering!;
        Assert.True(steering.ForwardedFrames > 100, $"only {steering.ForwardedFrames} frames were steered");
        // After the burst both shards go back to sleep, and stay asleep (an eventfd left readable would make one spin).
        Thread.Sleep(300);
        var cpuBefore = libOS.Shards.Select(s => ThreadCpu.Ticks(s.NativeThreadId)).ToArray();
        var parksBefore = libOS.Shards.Select(s => s.Parks).ToArray();
        Thread.Sleep(1000);
        for (int i = 0; i < libOS.Shards.Count; i++)
        {
            long ticks = ThreadCpu.Ticks(libOS.Shards[i].NativeThreadId) - cpuBefore[i];
            long parks = libOS.Shards[i].Parks - parksBefore[i];
            output.WriteLine($"shard {i}: {ticks} ticks and {parks} parks in 1 s after {steering.ForwardedFrames} steered frames ({steering.Wakeups} wake-ups)");
            Assert.True(ticks < 10, $"shard {i} used {ticks} ticks (1/100 s) while idle after steering");
            // Parked means asleep: a park times out after at most a second, so a sleeping shard parks a few times, a spinning one thousands.
            Assert.True(parks < 50, $"shard {i} parked {parks} times in a second: it keeps waking up");
        }
        Assert.Equal(0, libOS.Close(qd));
        Assert.True(server.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the echo thread's pending pop");
    }
}
