using System.Buffers.Binary;
using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Tests.Shared;
using Demi.Transport.Xdp.Tests;
using Xunit.Abstractions;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// Two Demi libOSes in one process over one <see cref="DpdkRingPair"/>: no namespace, no interface,
/// no kernel, nothing on any network. ARP resolves both ways with no static entries, UDP and TCP
/// carry every byte in order, every received frame is a foreign mbuf (the sender's) copied into the
/// receiver's pool, and both pools return to their baseline; with two queue pairs a side each shard
/// sends on its own queue and the receiving side's steering moves what lands on the wrong shard.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class RingPairTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.99.0.1");
    private static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.99.0.2");
    private static int s_pair;

    private static string UniqueName(string stem) => $"{stem}{Interlocked.Increment(ref s_pair)}";

    /// <summary>A libOS on one side of <paramref name="pair"/> with <paramref name="shards"/> shards (one per queue pair).</summary>
    private static LibOS Open(DpdkRingPair pair, bool sideA, out DpdkBackend backend, int shards = 1, bool tcp = false, TimeSpan? arpTimeout = null)
    {
        var address = sideA ? AddressA : AddressB;
        var stack = new InetStackOptions { LocalAddress = address, PrefixLength = 24 };
        if (arpTimeout is { } timeout)
            stack.ArpRequestTimeout = timeout;
        backend = DpdkBackend.Create(new DpdkOptions { PortId = sideA ? pair.PortA : pair.PortB }, _ => stack, shards);
        if (tcp)
            backend.StreamTransport = new TcpTransport();
        try
        {
            return new LibOS(new LibOSOptions { Backend = backend, ShardCount = shards });
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    [Fact]
    public void Ring_pair_sides_open_as_backends_with_their_own_macs_and_are_closed_by_the_pair()
    {
        Privileges.RequireRoot();
        var pair = DpdkRingPair.Create(UniqueName("open"));
        try
        {
            Assert.NotEqual(pair.PortA, pair.PortB);
            Assert.NotEqual(pair.MacA, pair.MacB);
            var duplicate = Assert.Throws<DpdkException>(() => DpdkRingPair.Create(pair.Name));
            Assert.Contains("already exists", duplicate.Message);

            var a = DpdkBackend.Create(new DpdkOptions { PortId = pair.PortA }, new InetStackOptions { LocalAddress = AddressA });
            var b = DpdkBackend.Create(new DpdkOptions { PortId = pair.PortB, Mtu = 1400 }, new InetStackOptions { LocalAddress = AddressB });
            try
            {
                Assert.Equal(DpdkRingPair.Driver, a.Port.Driver);
                Assert.Equal($"net_ring_{pair.Name}_a", a.Port.Name);
                Assert.Equal(pair.MacA, a.Port.MacAddress);
                Assert.Equal(pair.MacB, b.Port.MacAddress);
                Assert.Equal(pair.MacA, a.Queues[0].MacAddress);
                // No offloads: nothing requested survives the mask, the stack computes checksums.
                Assert.False(a.Port.TxChecksumOffload);
                Assert.Equal(0UL, a.Port.RssHashFunctions);
                // The default MTU, and a requested one recorded and read back (net_ring has no mtu_set).
                Assert.Equal(1500, a.Port.Mtu);
                Assert.Equal(1400, b.Port.Mtu);
                Assert.Equal(1400, b.Queues[0].Mtu);
                // net_ring never allocates RX mbufs: nothing is lent, the whole pool serves SgaAlloc and RX copies.
                Assert.Equal(0, a.Mbufs.Lent);
                Assert.Equal(a.Mbufs.Count, a.Mbufs.Pool.Available);
                // The pair's ports are in use: closing it now is refused and changes nothing.
                Assert.Throws<InvalidOperationException>(pair.Dispose);
            }
            finally
            {
                b.Dispose();
                a.Dispose();
            }
            // Stopped, not closed: a side can be opened again.
            using (var again = DpdkBackend.Create(new DpdkOptions { PortId = pair.PortA }, new InetStackOptions { LocalAddress = AddressA }))
                Assert.Equal(pair.MacA, again.Port.MacAddress);
        }
        finally
        {
            pair.Dispose();
        }
        // Closed: the port is gone and the name is free again.
        var gone = Assert.Throws<DpdkException>(() => DpdkBackend.Create(new DpdkOptions { PortId = pair.PortA }, new InetStackOptions { LocalAddress = AddressA }));
        Assert.Contains($"no Ethernet port {pair.PortA}", gone.Message);
        DpdkRingPair.Create(pair.Name).Dispose();
    }

    [Fact]
    public void Udp_datagrams_are_all_echoed_in_order_over_a_ring_pair_after_arp_and_the_pools_return_to_their_baseline()
    {
        Privileges.RequireRoot();
        using var pair = DpdkRingPair.Create(UniqueName("udp"));
        using var clientOS = Open(pair, sideA: true, out var client);
        using var serverOS = Open(pair, sideA: false, out var server);
        var echo = KernelPeerScenarios.StartDemiUdpEcho(serverOS);
        int qd = KernelPeerScenarios.BindUdp(clientOS, 0);
        var to = new Ipv4Endpoint(AddressB, 7);

        EchoNumbered(clientOS, qd, to, 0, 32);
        // ARP both ways, no static entries: A's request resolved B; B learned A from it (RFC 826) and replied.
        var stackA = InetBackend.StackOf(clientOS.Shards[0])!.Counters;
        var stackB = InetBackend.StackOf(serverOS.Shards[0])!.Counters;
        Assert.True(stackA.ArpRequestsSent >= 1, stackA.ToString());
        Assert.True(stackB.ArpRepliesSent >= 1, stackB.ToString());
        Assert.Equal(0, stackB.ArpRequestsSent);
        PoolAccounting.Settle(client, server);
        var baseline = (PoolAccounting.Snapshot(client), PoolAccounting.Snapshot(server));

        const int Datagrams = 2000;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EchoNumbered(clientOS, qd, to, 32, Datagrams);
        clock.Stop();
        PoolAccounting.Settle(client, server);
        Assert.Equal(baseline.Item1, PoolAccounting.Snapshot(client));
        Assert.Equal(baseline.Item2, PoolAccounting.Snapshot(server));
        AssertLosslessAndCopied(client, server);
        Assert.Equal(32 + Datagrams, echo.Echoed);
        output.WriteLine($"{Datagrams} echoes in {clock.Elapsed.TotalSeconds:F2} s; client {client.Queues[0].GetStatistics()}; server {server.Queues[0].GetStatistics()}");
        Assert.Equal(0, clientOS.Close(qd));
        echo.Stop(Timeout);
    }

    [Fact]
    public void Tcp_moves_10MB_each_way_over_a_ring_pair_with_sha256_equality_and_a_clean_close()
    {
        Privileges.RequireRoot();
        using var pair = DpdkRingPair.Create(UniqueName("tcp"));
        using var clientOS = Open(pair, sideA: true, out var client, tcp: true);
        using var serverOS = Open(pair, sideA: false, out var server, tcp: true);
        var baseline = (PoolAccounting.Snapshot(client), PoolAccounting.Snapshot(server));

        const int Total = 10 * 1024 * 1024;
        var (elapsed, lqd) = KernelPeerScenarios.DemiClientMovesThroughDemiEcho(serverOS, clientOS, new Ipv4Endpoint(AddressB, 7003), Total, seed: 3, Timeout);
        Assert.Equal(0, serverOS.Close(lqd));
        // A clean close: the server saw end of stream (checked above) and no reset was sent or received.
        foreach (var libOS in new[] { clientOS, serverOS })
        {
            var tcp = TcpTransport.LayerOf(libOS.Shards[0])!.Statistics;
            Assert.Equal(0, tcp.ResetsSent);
            Assert.Equal(0, tcp.ResetsReceived);
        }
        PoolAccounting.Settle(client, server);
        Assert.Equal(baseline.Item1, PoolAccounting.Snapshot(client));
        Assert.Equal(baseline.Item2, PoolAccounting.Snapshot(server));
        AssertLosslessAndCopied(client, server);
        output.WriteLine($"10 MB each way in {elapsed.TotalSeconds:F2} s; client {client.Queues[0].GetStatistics()}; server {server.Queues[0].GetStatistics()}");
    }

    [Fact]
    public void Two_ring_queue_pairs_a_side_carry_each_shard_on_its_own_queue_and_steering_moves_the_rest()
    {
        Privileges.RequireRoot();
        using var pair = DpdkRingPair.Create(UniqueName("mq"), queues: 2);
        using var clientOS = Open(pair, sideA: true, out var client, shards: 2);
        using var serverOS = Open(pair, sideA: false, out var server, shards: 2);
        Assert.Equal(2, client.Port.QueueCount);
        var echo = KernelPeerScenarios.StartDemiUdpEcho(serverOS);
        int owner = serverOS.GetActor(echo.Qd)!.Shard.Id;
        var to = new Ipv4Endpoint(AddressB, 7);

        // Four client sockets, two per shard of A (sockets go to the shards in turn).
        const int Sockets = 4, PerSocket = 250;
        var sent = new int[2];
        for (int s = 0; s < Sockets; s++)
        {
            int qd = KernelPeerScenarios.BindUdp(clientOS, 0);
            int shard = clientOS.GetActor(qd)!.Shard.Id;
            EchoNumbered(clientOS, qd, to, s * PerSocket, PerSocket);
            sent[shard] += PerSocket;
            Assert.Equal(0, clientOS.Close(qd));
        }
        Assert.Equal(PerSocket * Sockets / 2, sent[0]);
        PoolAccounting.Settle(client, server);

        // net_ring has no RSS: a frame arrives on the queue its sender sent it from. A's shard i sent on
        // queue i, so B received on both, and B's other shard moved every datagram to the echo's shard.
        var serverSteering = server.Steering!;
        Assert.True(server.Queues[0].GetStatistics().RxFrames >= sent[0] && server.Queues[1].GetStatistics().RxFrames >= sent[1],
            $"B rx per queue {server.Queues[0].GetStatistics().RxFrames} / {server.Queues[1].GetStatistics().RxFrames}");
        Assert.Equal(sent[1 - owner], serverSteering.ForwardedBy(1 - owner));
        Assert.Equal(0, serverSteering.ForwardedBy(owner));
        Assert.Equal(0, serverSteering.DroppedFrames);
        // The echoes all left on the echo shard's queue and reached A's shard of that index, which moved
        // the replies to the other shard's sockets there (their ephemeral port names their shard).
        var clientSteering = client.Steering!;
        Assert.Equal(sent[1 - owner], clientSteering.ForwardedBy(owner));
        Assert.Equal(0, clientSteering.ForwardedBy(1 - owner));
        Assert.Equal(0, clientSteering.DroppedFrames);
        for (int s = 0; s < 2; s++)
            Assert.Equal(sent[s], InetBackend.StackOf(clientOS.Shards[s])!.Counters.UdpDatagramsReceived);
        AssertLosslessAndCopied(client, server);
        echo.Stop(Timeout);
    }

    [Fact]
    public void A_side_that_stops_takes_its_frames_back_from_the_rings_so_the_peer_never_receives_freed_buffers()
    {
        Privileges.RequireRoot();
        using var pair = DpdkRingPair.Create(UniqueName("stop"));
        var arpTimeout = TimeSpan.FromMilliseconds(50);
        using (var aOS = Open(pair, sideA: true, out var a, arpTimeout: arpTimeout))
        {
            // Nobody runs on B: A's ARP requests stay in the ring towards B, their buffers in flight.
            SendToNobody(aOS, AddressB);
            var stats = a.Queues[0].GetStatistics();
            Assert.True(stats.TxFrames >= 1);
            Assert.Equal(stats.TxFrames, a.Queues[0].InFlight);
        }
        // A's pool is gone. B comes up, polls its queue for as long as its own ARP attempts last (its
        // requests now stay in the ring towards the stopped A) and receives none of A's old frames.
        using (var bOS = Open(pair, sideA: false, out var b, arpTimeout: arpTimeout))
        {
            SendToNobody(bOS, AddressA);
            Assert.Equal(0, b.Queues[0].GetStatistics().RxFrames);
            Assert.Equal(0, b.Port.GetStatistics().RxPackets);
            Assert.True(b.Queues[0].InFlight >= 1);
        }
        // And B's stop took its frames back in turn: A, reopened, receives nothing either.
        using (var aOS = Open(pair, sideA: true, out var a, arpTimeout: arpTimeout))
        {
            SendToNobody(aOS, AddressB);
            Assert.Equal(0, a.Queues[0].GetStatistics().RxFrames);
        }
    }

    /// <summary>A datagram to <paramref name="address"/>, whose side has no running stack: the push fails once ARP gives up.</summary>
    private static void SendToNobody(LibOS libOS, Ipv4Address address)
    {
        int qd = KernelPeerScenarios.BindUdp(libOS, 0);
        var sga = libOS.SgaAlloc(32);
        Assert.Equal(0, libOS.PushTo(out var qt, qd, sga, new Ipv4Endpoint(address, 9)));
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.Equal(Errno.ETIMEDOUT, result.Error); // ARP gave up
        Assert.Equal(0, libOS.SgaFree(sga));
        Assert.Equal(0, libOS.Close(qd));
    }

    // Datagrams in flight at once: enough that shard naps do not dominate, far below the ring's 1,024.
    private const int Window = 32;

    /// <summary>
    /// Sends datagrams <paramref name="first"/>.. (<paramref name="count"/> of them) through the echo,
    /// <see cref="Window"/> at a time; each is numbered, of its own length, and must come back whole and
    /// in order (one flow over lossless FIFO rings and a one-at-a-time echo).
    /// </summary>
    private static void EchoNumbered(LibOS libOS, int qd, Ipv4Endpoint echo, int first, int count)
    {
        var pops = new ulong[Window];
        var pushes = new ulong[Window];
        var expected = new byte[1472];
        for (int done = 0; done < count; done += Window)
        {
            int n = Math.Min(Window, count - done);
            for (int i = 0; i < n; i++)
            {
                int number = first + done + i;
                var sga = libOS.SgaAlloc(LengthOf(number));
                Assert.True(sga.IsAllocated, "SgaAlloc failed");
                Fill(sga.Span, number);
                Assert.Equal(0, libOS.Pop(out pops[i], qd));
                Assert.Equal(0, libOS.PushTo(out pushes[i], qd, sga, echo));
                // Freed while in flight: the queue's mbuf reference keeps it until the peer has copied it.
                Assert.Equal(0, libOS.SgaFree(sga));
            }
            for (int i = 0; i < n; i++)
                DemiOverVeth.WaitOk(libOS, pushes[i], Timeout);
            for (int i = 0; i < n; i++)
            {
                int number = first + done + i;
                var reply = DemiOverVeth.WaitOk(libOS, pops[i], Timeout);
                Assert.Equal(LengthOf(number), reply.Sga.Length);
                Assert.Equal(number, BinaryPrimitives.ReadInt32LittleEndian(reply.Sga.Span));
                Fill(expected.AsSpan(0, LengthOf(number)), number);
                Assert.True(reply.Sga.Span.SequenceEqual(expected.AsSpan(0, LengthOf(number))), $"datagram {number} came back altered");
                Assert.Equal(echo, reply.Sga.Address.Endpoint);
                Assert.Equal(0, libOS.SgaFree(reply.Sga));
            }
        }
    }

    // 8..1472 bytes (a full 1500-byte MTU frame at the top), varying from one datagram to the next.
    private static int LengthOf(int number) => 8 + number * 37 % 1465;

    private static void Fill(Span<byte> span, int number)
    {
        for (int i = 4; i < span.Length; i++)
            span[i] = (byte)(number * 7 + i);
        BinaryPrimitives.WriteInt32LittleEndian(span, number);
    }

    /// <summary>
    /// Nothing lost in either direction (every frame one side's device took was received by the other,
    /// no ring was ever full), and every received frame was the sender's mbuf, copied into this pool.
    /// </summary>
    private static void AssertLosslessAndCopied(DpdkBackend a, DpdkBackend b)
    {
        foreach (var (from, to) in new[] { (a, b), (b, a) })
        {
            long sent = from.Queues.Sum(q => q.GetStatistics().TxFrames);
            long received = to.Queues.Sum(q => q.GetStatistics().RxFrames);
            Assert.Equal(sent, received);
            Assert.Equal(received, to.Port.GetStatistics().RxPackets);
            foreach (var q in from.Queues)
                Assert.Equal(0, q.GetStatistics().TxRingFull);
            foreach (var q in to.Queues)
            {
                var stats = q.GetStatistics();
                Assert.Equal(stats.RxFrames, stats.RxCopied);
                Assert.Equal(0, stats.RxDropped);
            }
        }
    }
}
