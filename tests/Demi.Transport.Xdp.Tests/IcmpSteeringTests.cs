using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// ICMP errors under steering, against the Linux kernel: the kernel peer answers datagrams to a closed
/// port with port unreachable, whichever queue that lands on; every connected Demi UDP socket, on
/// either shard, must see its ECONNREFUSED.
/// </summary>
public sealed class IcmpSteeringTests(ITestOutputHelper output)
{
    [Fact]
    public void Port_unreachable_reaches_connected_udp_sockets_on_both_shards()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        // One error per datagram: the peer's per-destination ICMP rate limit would otherwise allow ~6.
        veth.Run(VethSide.B, "sysctl", "-qw", "net.ipv4.icmp_ratelimit=0").EnsureSuccess("sysctl icmp_ratelimit");
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2, shards: 2);
        const int Sockets = 16;
        var closedPort = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 9);
        var qds = new int[Sockets];
        var pops = new ulong[Sockets];
        var shards = new HashSet<int>();
        for (int i = 0; i < Sockets; i++)
        {
            Assert.Equal(0, libOS.Socket(out qds[i], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Connect(out var cqt, qds[i], closedPort));
            Assert.Equal(0, libOS.Wait(out var connected, cqt, TimeSpan.FromSeconds(5)));
            Assert.Equal(Opcode.Connect, connected.Opcode);
            shards.Add(libOS.GetActor(qds[i])!.Shard.Id);
            Assert.Equal(0, libOS.Pop(out pops[i], qds[i]));
        }
        Assert.Equal([0, 1], shards.Order());
        for (int i = 0; i < Sockets; i++)
        {
            var sga = libOS.SgaAlloc(8);
            Assert.Equal(0, libOS.Push(out var pqt, qds[i], sga));
            Assert.Equal(0, libOS.Wait(out var pushed, pqt, TimeSpan.FromSeconds(5)));
            Assert.Equal(Opcode.Push, pushed.Opcode);
            libOS.SgaFree(sga);
        }
        var errors = new int[Sockets];
        for (int i = 0; i < Sockets; i++)
        {
            Assert.Equal(0, libOS.Wait(out var popped, pops[i], TimeSpan.FromSeconds(5)));
            errors[i] = popped.Opcode == Opcode.Failed ? popped.Error : 0;
            Assert.Equal(0, libOS.Close(qds[i]));
        }
        output.WriteLine($"steered {backend.Steering!.ForwardedFrames} frames; errors: {string.Join(", ", errors.Select(e => Errno.Name(e)))}");
        Assert.All(errors, e => Assert.Equal(Errno.ECONNREFUSED, e));
    }
}
