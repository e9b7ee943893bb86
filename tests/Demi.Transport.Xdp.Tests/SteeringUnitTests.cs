using System.Buffers.Binary;
using Demi.Buffers;
using Demi.Inet;
using Demi.Inet.Nic;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// The steering logic without a kernel: two shards' queues over scripted NIC queues sharing one pool,
/// driven from one thread (each queue is still only touched as its shard would touch it).
/// </summary>
public sealed class SteeringUnitTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("02:00:00:00:00:01");

    /// <summary>A NIC queue whose received frames are whatever the test put in <see cref="Incoming"/>.</summary>
    private sealed class ScriptedNicQueue(BufferPool pool) : INicQueue
    {
        public readonly Queue<PacketBuffer> Incoming = new();
        public readonly List<PacketBuffer> Sent = new();
        public MacAddress MacAddress => Mac;
        public int Mtu => 1500;
        public NicOffloads Offloads => NicOffloads.None;
        public BufferPool Pool => pool;
        public int WaitFd => -1;

        public int Receive(Span<PacketBuffer> frames)
        {
            int n = 0;
            while (n < frames.Length && Incoming.TryDequeue(out var f))
                frames[n++] = f;
            return n;
        }

        public int Transmit(ReadOnlySpan<PacketBuffer> frames)
        {
            foreach (var f in frames)
                Sent.Add(f);
            return frames.Length;
        }

        public void Flush() { }

        public void Dispose() { }
    }

    private sealed class Rig : IDisposable
    {
        public readonly BufferPool Pool = new(2048, 4096, 128);
        public readonly PortSpace Ports = new(2);
        public readonly FlowSteering Steering;
        public readonly ScriptedNicQueue[] Nics;
        public readonly INicQueue[] Queues;

        public Rig(int ringCapacity = 64)
        {
            Steering = new FlowSteering(Ports, ringCapacity);
            Nics = [new ScriptedNicQueue(Pool), new ScriptedNicQueue(Pool)];
            Queues = [Steering.Attach(0, Nics[0]), Steering.Attach(1, Nics[1])];
        }

        /// <summary>A socket of <paramref name="shard"/> bound to <paramref name="port"/>; returns its owner token.</summary>
        public object Bind(byte protocol, ushort port, int shard, bool reusePort = false)
        {
            var owner = new object();
            Assert.Equal(0, Ports.Bind(protocol, owner, Ipv4Address.Any, port, shard, false, reusePort, 49152, 65535, new Random(1), out _));
            return owner;
        }

        public PacketBuffer Udp(ushort dstPort, ushort srcPort = 4000, uint srcIp = 0x0A630002)
        {
            Assert.True(PacketBuffer.TryRent(Pool, out var f));
            int n = Frames.BuildUdp(f.Append(Frames.HeaderLength + 16)[..], Mac, Mac, srcIp, 0x0A630001, srcPort, dstPort, new byte[16]);
            Assert.Equal(Frames.HeaderLength + 16, n);
            return f;
        }

        public PacketBuffer Raw(ReadOnlySpan<byte> bytes)
        {
            Assert.True(PacketBuffer.TryRent(Pool, out var f));
            bytes.CopyTo(f.Append(bytes.Length));
            return f;
        }

        public void Dispose()
        {
            foreach (var q in Queues)
                q.Dispose();
            Steering.Dispose();
            Pool.Dispose();
        }
    }

    private static ushort DstPort(in PacketBuffer f) => BinaryPrimitives.ReadUInt16BigEndian(f.Span[36..]);

    [Fact]
    public void Frames_for_a_bound_port_move_to_the_owner_and_others_stay()
    {
        using var rig = new Rig();
        rig.Bind(17, 7, 1);
        rig.Nics[0].Incoming.Enqueue(rig.Udp(7));
        rig.Nics[0].Incoming.Enqueue(rig.Udp(8)); // unbound even port: names shard 0, stays
        rig.Nics[0].Incoming.Enqueue(rig.Udp(7, srcPort: 4001));
        var burst = new PacketBuffer[32];
        int here = rig.Queues[0].Receive(burst);
        Assert.Equal(1, here);
        Assert.Equal(8, DstPort(burst[0]));
        burst[0].Release();
        Assert.Equal(2, rig.Steering.ForwardedBy(0));
        int there = rig.Queues[1].Receive(burst);
        Assert.Equal(2, there);
        Assert.All(burst[..2], f => Assert.Equal(7, DstPort(f)));
        Assert.Equal(2, rig.Steering.ReceivedBy(1));
        foreach (var f in burst[..2])
            f.Release();
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void A_udp_SO_REUSEPORT_group_with_a_member_on_every_shard_is_served_without_steering()
    {
        using var rig = new Rig();
        rig.Bind(17, 7, 0, reusePort: true);
        rig.Bind(17, 7, 1, reusePort: true);
        for (ushort src = 4000; src < 4016; src++)
        {
            rig.Nics[0].Incoming.Enqueue(rig.Udp(7, srcPort: src));
            rig.Nics[1].Incoming.Enqueue(rig.Udp(7, srcPort: src));
        }
        var burst = new PacketBuffer[32];
        Assert.Equal(16, rig.Queues[0].Receive(burst));
        foreach (var f in burst[..16])
            f.Release();
        Assert.Equal(16, rig.Queues[1].Receive(burst));
        foreach (var f in burst[..16])
            f.Release();
        Assert.Equal(0, rig.Steering.ForwardedFrames); // every datagram stayed on the shard that received it
        // A group with its only member on shard 1: shard 0 steers the datagrams there.
        using var other = new Rig();
        other.Bind(17, 9, 1, reusePort: true);
        other.Nics[0].Incoming.Enqueue(other.Udp(9));
        Assert.Equal(0, other.Queues[0].Receive(burst));
        Assert.Equal(1, other.Queues[1].Receive(burst));
        burst[0].Release();
        Assert.Equal(other.Pool.Count, other.Pool.Available);
    }

    [Fact]
    public void Unbound_ports_belong_to_the_shard_they_name_and_binds_win()
    {
        using var rig = new Rig();
        rig.Nics[0].Incoming.Enqueue(rig.Udp(5555)); // odd: an ephemeral port of shard 1
        rig.Nics[0].Incoming.Enqueue(rig.Udp(5556));
        var burst = new PacketBuffer[8];
        Assert.Equal(1, rig.Queues[0].Receive(burst));
        Assert.Equal(5556, DstPort(burst[0]));
        burst[0].Release();
        Assert.Equal(1, rig.Queues[1].Receive(burst));
        Assert.Equal(5555, DstPort(burst[0]));
        burst[0].Release();
        Assert.Equal(0UL, rig.Ports.OwnersOf(17, 5555));
        var owner = rig.Bind(17, 5555, 0);
        Assert.Equal(1UL, rig.Ports.OwnersOf(17, 5555));
        Assert.Equal(0UL, rig.Ports.OwnersOf(6, 5555)); // per protocol
        Assert.Equal(0, rig.Steering.OwnerOf(17, 5555, Ipv4Address.Parse("10.99.0.2"), 4000));
        rig.Ports.Unbind(17, owner, 5555);
        Assert.Equal(1, rig.Steering.OwnerOf(17, 5555, Ipv4Address.Parse("10.99.0.2"), 4000));
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void A_listener_on_every_shard_spreads_flows_by_hash_and_keeps_each_flow_on_one_shard()
    {
        using var rig = new Rig();
        var listener = rig.Bind(6, 80, 0);
        Assert.Equal(0, rig.Ports.Listen(listener, 80, allShards: true));
        Assert.Equal(3UL, rig.Ports.OwnersOf(6, 80));
        var perShard = new int[2];
        for (ushort src = 30000; src < 30064; src++)
        {
            int owner = rig.Steering.OwnerOf(6, 80, Ipv4Address.Parse("10.99.0.2"), src);
            perShard[owner]++;
            // The same flow maps to the same shard every time (a connection lives where its SYN went).
            Assert.Equal(owner, rig.Steering.OwnerOf(6, 80, Ipv4Address.Parse("10.99.0.2"), src));
        }
        Assert.True(perShard[0] > 8 && perShard[1] > 8, $"64 flows split {perShard[0]} / {perShard[1]}");
    }

    // An ICMP error from 10.99.0.2 quoting a UDP datagram we sent from localPort to 10.99.0.2:remotePort.
    private static byte[] IcmpError(byte type, ushort localPort, ushort remotePort)
    {
        var quoted = new byte[Frames.HeaderLength + 8];
        Frames.BuildUdp(quoted, Mac, Mac, 0x0A630001, 0x0A630002, localPort, remotePort, new byte[8]);
        var frame = new byte[14 + 20 + 8 + 28];
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
        frame[14] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(16), (ushort)(frame.Length - 14));
        frame[22] = 64;
        frame[23] = 1; // ICMP
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(26), 0x0A630002);
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(30), 0x0A630001);
        frame[34] = type;
        frame[35] = 3;
        quoted.AsSpan(14, 28).CopyTo(frame.AsSpan(42)); // the quote: IP header and 8 bytes (the UDP header)
        return frame;
    }

    [Fact]
    public void Icmp_errors_go_to_the_shard_owning_the_quoted_flow_and_echo_requests_stay()
    {
        using var rig = new Rig();
        rig.Bind(17, 40001, 1); // a UDP socket of shard 1 (its own ephemeral port is odd too)
        rig.Nics[0].Incoming.Enqueue(rig.Raw(IcmpError(3, 40001, 9)));  // port unreachable about shard 1's datagram
        rig.Nics[0].Incoming.Enqueue(rig.Raw(IcmpError(11, 40001, 9))); // time exceeded, same flow
        rig.Nics[0].Incoming.Enqueue(rig.Raw(IcmpError(3, 40000, 9)));  // about shard 0's port: stays
        var echo = IcmpError(8, 40001, 9);                              // an echo request is no error: stays
        rig.Nics[0].Incoming.Enqueue(rig.Raw(echo));
        var burst = new PacketBuffer[8];
        Assert.Equal(2, rig.Queues[0].Receive(burst));
        Assert.Equal(3, burst[0].Span[34]);
        Assert.Equal(8, burst[1].Span[34]);
        burst[0].Release();
        burst[1].Release();
        Assert.Equal(2, rig.Queues[1].Receive(burst));
        Assert.Equal(3, burst[0].Span[34]);
        Assert.Equal(11, burst[1].Span[34]);
        burst[0].Release();
        burst[1].Release();
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void Arp_replies_are_copied_to_every_shard_and_requests_are_not()
    {
        using var rig = new Rig();
        byte[] arp = new byte[42];
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(12), 0x0806);
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(20), 2); // reply
        rig.Nics[0].Incoming.Enqueue(rig.Raw(arp));
        BinaryPrimitives.WriteUInt16BigEndian(arp.AsSpan(20), 1); // request
        rig.Nics[0].Incoming.Enqueue(rig.Raw(arp));
        var burst = new PacketBuffer[8];
        Assert.Equal(2, rig.Queues[0].Receive(burst));
        burst[0].Release();
        burst[1].Release();
        Assert.Equal(1, rig.Queues[1].Receive(burst));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16BigEndian(burst[0].Span[20..]));
        burst[0].Release();
        Assert.Equal(1, rig.Steering.ArpCopies);
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void Malformed_and_portless_frames_stay_local_and_a_full_ring_drops_and_counts()
    {
        using var rig = new Rig(ringCapacity: 4);
        rig.Bind(17, 7, 1);
        var junk = new List<byte[]>
        {
            new byte[10],                                   // shorter than Ethernet
            new byte[20],                                   // Ethernet, no IPv4 header
        };
        var badIhl = new byte[Frames.HeaderLength + 4];
        Frames.BuildUdp(badIhl, Mac, Mac, 1, 2, 1, 7, new byte[4]);
        badIhl[14] = 0x42; // IHL 2
        junk.Add(badIhl);
        var fragment = new byte[Frames.HeaderLength + 4];
        Frames.BuildUdp(fragment, Mac, Mac, 1, 2, 1, 7, new byte[4]);
        fragment[20] = 0x00; fragment[21] = 0x10; // fragment offset 16: no ports in it
        junk.Add(fragment);
        var truncated = new byte[14 + 20 + 2]; // IPv4 header, then only half a port pair
        truncated[12] = 0x08; truncated[14] = 0x45; truncated[23] = 17;
        junk.Add(truncated);
        foreach (var j in junk)
        {
            if (j.Length >= 14)
                BinaryPrimitives.WriteUInt16BigEndian(j.AsSpan(12), 0x0800);
            rig.Nics[0].Incoming.Enqueue(rig.Raw(j));
        }
        for (int i = 0; i < 6; i++)
            rig.Nics[0].Incoming.Enqueue(rig.Udp(7, srcPort: (ushort)(4000 + i)));
        var burst = new PacketBuffer[32];
        int here = rig.Queues[0].Receive(burst);
        Assert.Equal(junk.Count, here); // all malformed frames left to the stack, which drops and counts them
        for (int i = 0; i < here; i++)
            burst[i].Release();
        Assert.Equal(4, rig.Steering.ForwardedFrames);
        Assert.Equal(2, rig.Steering.DroppedFrames);
        Assert.Equal(4, rig.Queues[1].Receive(burst));
        for (int i = 0; i < 4; i++)
            burst[i].Release();
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }

    [Fact]
    public void Steering_allocates_nothing_per_frame()
    {
        using var rig = new Rig(ringCapacity: 256);
        rig.Bind(17, 7, 1);
        var burst = new PacketBuffer[64];
        var template = rig.Udp(7);
        byte[] bytes = template.Span.ToArray();
        template.Release();
        const int Rounds = 2000;
        // Warm up (JIT, tiering), then measure.
        for (int pass = 0; pass < 2; pass++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int r = 0; r < Rounds; r++)
            {
                for (int i = 0; i < 32; i++)
                {
                    PacketBuffer.TryRent(rig.Pool, out var f);
                    bytes.CopyTo(f.Append(bytes.Length));
                    rig.Nics[0].Incoming.Enqueue(f);
                }
                int stayed = rig.Queues[0].Receive(burst);
                int n = rig.Queues[1].Receive(burst);
                if (stayed != 0 || n != 32)
                    Assert.Fail($"round {r}: {stayed} stayed, {n} steered");
                for (int i = 0; i < n; i++)
                    burst[i].Release();
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (pass == 1)
                Assert.True(allocated < Rounds * 32 / 10, $"{allocated} B allocated for {Rounds * 32} steered frames");
        }
        Assert.Equal(rig.Pool.Count, rig.Pool.Available);
    }
}
