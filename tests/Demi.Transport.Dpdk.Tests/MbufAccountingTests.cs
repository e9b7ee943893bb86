using Demi.Inet;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;
using Xunit.Abstractions;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// Every buffer comes back: after 100,000 UDP echoes between two Demi-over-DPDK instances (one per
/// namespace, two net_af_packet devices on one EAL) both pools are where they started: as many
/// buffers free, as many lent to the mempool, the mempool holding exactly the lent ones, nothing in flight.
/// </summary>
[Collection(DpdkCollection.Name)]
public sealed class MbufAccountingTests(ITestOutputHelper output)
{
    private const int Echoes = 100_000;

    [Fact]
    public void Pools_return_to_their_baseline_after_100000_echoes()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnB = false });
        using var serverOS = DpdkOverVeth.Create(veth, VethSide.A, out var server);
        using var clientOS = DpdkOverVeth.Create(veth, VethSide.B, out var client);
        Assert.Equal(0, serverOS.Socket(out int sqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, serverOS.Bind(sqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var echoThread = DemiOverVeth.StartUdpEcho(serverOS, sqd);
        Assert.Equal(0, clientOS.Socket(out int cqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, clientOS.Bind(cqd, new Ipv4Endpoint(Ipv4Address.Any, 0)));
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7);

        EchoMany(clientOS, cqd, echo, 100); // ARP resolved, sockets warm
        // Each shard thread is an lcore, so the mempool's per-lcore cache serves its gets and puts
        // (the accounting below then covers mbufs waiting in those caches too).
        Assert.True(server.Mbufs.CacheSize > 0 && server.Queues[0].PollingLcore >= 0, $"the server's shard has no mempool cache (lcore {server.Queues[0].PollingLcore})");
        Assert.True(client.Queues[0].PollingLcore >= 0 && client.Queues[0].PollingLcore != server.Queues[0].PollingLcore, "the client's shard needs an lcore of its own");
        PoolAccounting.Settle(server, client);
        var baseline = (PoolAccounting.Snapshot(server), PoolAccounting.Snapshot(client));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        EchoMany(clientOS, cqd, echo, Echoes);
        clock.Stop();
        PoolAccounting.Settle(server, client);
        // (Snapshot also checks that each mempool holds exactly the lent buffers.)
        Assert.Equal(baseline.Item1, PoolAccounting.Snapshot(server));
        Assert.Equal(baseline.Item2, PoolAccounting.Snapshot(client));
        Assert.Equal(0, server.Queues[0].GetStatistics().TxCopied);
        output.WriteLine($"{Echoes} echoes in {clock.Elapsed.TotalSeconds:F2} s; server {server.Queues[0].GetStatistics()}");
        clientOS.Close(cqd);
        serverOS.Close(sqd);
        Assert.True(echoThread.Join(DpdkOverVeth.Timeout), "the echo thread did not finish");
    }

    // Datagrams in flight at once: an idle shard without a wait fd naps up to a millisecond, so
    // ping-pong one at a time would measure naps, not the pools.
    private const int Window = 32;

    private static void EchoMany(LibOS libOS, int qd, Ipv4Endpoint echo, int count)
    {
        var pops = new ulong[Window];
        var pushes = new ulong[Window];
        for (int sent = 0; sent < count; sent += Window)
        {
            int n = Math.Min(Window, count - sent);
            long expected = 0, got = 0;
            for (int i = 0; i < n; i++)
            {
                var sga = libOS.SgaAlloc(64);
                Assert.NotEqual(0, sga.Handle);
                System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(sga.Span, sent + i);
                expected += sent + i;
                Assert.Equal(0, libOS.Pop(out pops[i], qd));
                Assert.Equal(0, libOS.PushTo(out pushes[i], qd, sga, echo));
                // Freed while in flight: the queue's reference keeps it until TX is done.
                Assert.Equal(0, libOS.SgaFree(sga));
            }
            for (int i = 0; i < n; i++)
                DemiOverVeth.WaitOk(libOS, pushes[i]);
            for (int i = 0; i < n; i++)
            {
                var reply = DemiOverVeth.WaitOk(libOS, pops[i]);
                got += System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(reply.Sga.Span);
                Assert.Equal(0, libOS.SgaFree(reply.Sga));
            }
            Assert.Equal(expected, got);
        }
    }
}
