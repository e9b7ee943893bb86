using Demi.Inet;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// Two shards on two queue pairs of one net_af_packet port (qpairs=2: two AF_PACKET sockets in a
/// fanout group, which spreads flows over them): frames landing on the shard that does not own their
/// port are moved to the owner by the stack's flow steering, as over AF_XDP.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class TwoShardTests
{
    private static int s_device;

    [Fact]
    public void Kernel_flows_spread_over_two_queue_pairs_are_all_echoed_by_the_owning_shard()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        var backend = DpdkBackend.Create(
            new DpdkOptions { Vdev = $"net_af_packet{100 + Interlocked.Increment(ref s_device)},iface={veth.InterfaceA}", NetworkNamespace = veth.NamespaceA },
            _ => new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 },
            queueCount: 2);
        using var libOS = new LibOS(new LibOSOptions { Backend = backend, ShardCount = 2 });
        Assert.Equal(2, backend.Port.QueueCount);
        var steering = backend.Steering;
        Assert.NotNull(steering);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        int owner = libOS.GetActor(qd)!.Shard.Id;
        var server = DemiOverVeth.StartUdpEcho(libOS, qd);

        const int Flows = 16, Rounds = 25;
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(120), KernelPeer.UdpMultiFlowEchoClient,
            veth.AddressA, "7", Flows.ToString(), Rounds.ToString(), "2", "0");
        client.EnsureSuccess("python multi-flow client");
        var parts = client.StandardOutput.Trim().Split(' ');
        Assert.Equal($"ok {Flows * Rounds}", $"{parts[0]} {parts[1]}");

        // Both queue pairs received, and what landed on the other shard was steered to the owner.
        var q0 = backend.Queues[0].GetStatistics();
        var q1 = backend.Queues[1].GetStatistics();
        Assert.True(q0.RxFrames > 0 && q1.RxFrames > 0, $"rx per queue {q0.RxFrames} / {q1.RxFrames}");
        Assert.True(steering.ForwardedBy(1 - owner) > 0, "no frame was steered");
        Assert.Equal(0, steering.DroppedFrames);
        Assert.Equal(0, InetBackend.StackOf(libOS.Shards[1 - owner])!.Counters.UdpDatagramsReceived);
        Assert.Equal(0, libOS.Close(qd));
        Assert.True(server.Join(DpdkOverVeth.Timeout), "the server thread did not finish");
    }
}
