using System.Text;
using Demi.Inet;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Software steering on a 2-queue veth: the kernel peer spreads flows over both queues (veth delivers
/// on the RX queue matching the sender's TX queue), so frames land on shards that do not own their
/// port and must be moved to the owner.
/// </summary>
public sealed class SteeringTests
{
    [Fact]
    public void Kernel_flows_spread_over_two_queues_are_all_echoed_by_the_owning_shard()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2);
        var steering = backend.Steering;
        Assert.NotNull(steering);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        // The bind put the port in the socket's shard's hands: its first datagram can land on either queue.
        int owner = libOS.GetActor(qd)!.Shard.Id;
        Assert.Equal(1UL << owner, backend.Inet.Ports.OwnersOf(17, 7));
        int echoed = 0;
        var server = DemiOverVeth.StartUdpEcho(libOS, qd, () => Interlocked.Increment(ref echoed));

        const int Flows = 16, Rounds = 25;
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(120), KernelPeer.UdpMultiFlowEchoClient,
            veth.AddressA, "7", Flows.ToString(), Rounds.ToString(), "2", "0");
        client.EnsureSuccess("python multi-flow client");
        var parts = client.StandardOutput.Trim().Split(' ');
        Assert.Equal($"ok {Flows * Rounds}", $"{parts[0]} {parts[1]}");

        // The kernel really used both queues, and what landed on the other one was steered.
        var q0 = backend.Queues[0].GetStatistics();
        var q1 = backend.Queues[1].GetStatistics();
        Assert.True(q0.RxFrames > 0 && q1.RxFrames > 0, $"rx per queue {q0.RxFrames} / {q1.RxFrames}");
        Assert.True(steering.ForwardedFrames > 0, "no frame was steered");
        Assert.True(steering.ForwardedBy(1 - owner) > 0);
        Assert.True(steering.ReceivedBy(owner) >= steering.ForwardedBy(1 - owner) - steering.DroppedFrames);
        Assert.Equal(0, steering.DroppedFrames);
        // Every echo went out from the owner: the other shard's stack never saw a datagram for port 7.
        Assert.Equal(0, InetBackend.StackOf(libOS.Shards[1 - owner])!.Counters.UdpDatagramsReceived);
        Assert.True(InetBackend.StackOf(libOS.Shards[owner])!.Counters.UdpDatagramsReceived >= Flows * Rounds);
        Assert.Equal(0, libOS.Close(qd));
        Assert.True(server.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the server thread's pending pop");
    }

    [Fact]
    public void Demi_clients_on_both_shards_get_their_replies_steered_to_their_bound_ports_shard()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        const int PerClient = 200;
        var peer = veth.Start(VethSide.B, "python3", "-c", KernelPeer.UdpSpreadingEchoServer, veth.AddressB, "7", (2 * PerClient).ToString(), "20", "8");
        Assert.Equal("ready", peer.StandardOutput.ReadLine());
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2);
        var steering = backend.Steering!;
        // Two sockets: the libOS spreads descriptors over the shards round robin.
        var qds = new int[2];
        for (int c = 0; c < 2; c++)
        {
            Assert.Equal(0, libOS.Socket(out qds[c], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            Assert.Equal(0, libOS.Bind(qds[c], new Ipv4Endpoint(Ipv4Address.Any, (ushort)(6000 + c))));
        }
        Assert.NotEqual(libOS.GetActor(qds[0])!.Shard.Id, libOS.GetActor(qds[1])!.Shard.Id);
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        var errors = new List<string>();
        var threads = qds.Select((qd, c) => new Thread(() =>
        {
            try
            {
                for (int i = 0; i < PerClient; i++)
                {
                    string text = $"client-{c}-datagram-{i}";
                    var sga = libOS.SgaAlloc(text.Length);
                    Encoding.ASCII.GetBytes(text, sga.Span);
                    Assert.Equal(0, libOS.Pop(out var popQt, qd));
                    Assert.Equal(0, libOS.PushTo(out var pushQt, qd, sga, echo));
                    DemiOverVeth.WaitOk(libOS, pushQt);
                    var reply = DemiOverVeth.WaitOk(libOS, popQt, TimeSpan.FromSeconds(10));
                    Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
                    Assert.Equal(echo.Address, reply.Sga.Address.Endpoint.Address);
                    libOS.SgaFree(reply.Sga);
                    libOS.SgaFree(sga);
                }
            }
            catch (Exception e)
            {
                lock (errors)
                    errors.Add(e.Message);
            }
        })).ToArray();
        foreach (var t in threads)
            t.Start();
        foreach (var t in threads)
            Assert.True(t.Join(TimeSpan.FromSeconds(90)));
        Assert.Empty(errors);
        Assert.True(peer.WaitForExit(30_000));
        Assert.Equal($"done {2 * PerClient}", peer.StandardOutput.ReadLine());
        // Each client's port belongs to its socket's shard.
        for (int c = 0; c < 2; c++)
            Assert.Equal(1UL << libOS.GetActor(qds[c])!.Shard.Id, backend.Inet.Ports.OwnersOf(17, (ushort)(6000 + c)));
        Assert.True(steering.ForwardedFrames > 0, $"no frame was steered; rx per queue {backend.Queues[0].GetStatistics().RxFrames} / {backend.Queues[1].GetStatistics().RxFrames}");
        foreach (var qd in qds)
            Assert.Equal(0, libOS.Close(qd));
    }

    [Fact]
    public void Kernel_tcp_connections_landing_on_either_queue_are_served_by_the_shard_their_flow_hashes_to()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2, tcp: true);
        var steering = backend.Steering!;
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7100)));
        Assert.Equal(0, libOS.Listen(lqd, 8));
        Assert.Equal(3UL, backend.Inet.Ports.OwnersOf(6, 7100)); // the listener accepts on both shards
        // Each connection picks a queue at random (its socket's transmit hash) and a shard by its flow
        // hash: none steered is 1 in 2^Connections (8 connections made that 1 in 256).
        const int Connections = 16, Bytes = 1 << 19;
        for (int c = 0; c < Connections; c++)
        {
            // Each kernel connection gets its own transmit hash, so connections spread over both queues.
            var server = TcpPeers.EchoOneConnection(libOS, lqd, DemiOverVeth.Timeout);
            var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), TcpPeers.KernelBulkEchoClient,
                veth.AddressA, "7100", Bytes.ToString(), c.ToString(), "20");
            var parts = TcpPeers.ParseClient(client);
            Assert.Equal(parts[0], parts[1]);
            Assert.Equal(Bytes.ToString(), parts[2]);
            Assert.True(server.Wait(DemiOverVeth.Timeout));
            Assert.Equal(Bytes, server.Result);
        }
        Assert.True(steering.ForwardedFrames > 0, $"no segment was steered in {Connections} connections");
        for (int s = 0; s < 2; s++)
            Assert.Equal(0, Demi.Inet.Tcp.TcpTransport.LayerOf(libOS.Shards[s])!.Statistics.ResetsSent); // no segment reached a shard without its connection
        Assert.Equal(0, libOS.Close(lqd));
        Assert.Equal(0, backend.Inet.Ports.BindingCount(6, 7100));
    }

    [Fact]
    public void Demi_to_demi_tcp_and_udp_with_two_shards_on_each_side()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2, KernelAddressOnB = false });
        using var serverOS = DemiOverVeth.Create(veth, VethSide.A, out var serverBackend, queues: 2, tcp: true);
        using var clientOS = DemiOverVeth.Create(veth, VethSide.B, out var clientBackend, queues: 2, tcp: true);
        Assert.Equal(0, serverOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, serverOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7200)));
        Assert.Equal(0, serverOS.Listen(lqd, 8));
        Assert.Equal(3UL, serverBackend.Inet.Ports.OwnersOf(6, 7200));
        Assert.Equal(0, serverOS.Socket(out int uqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, serverOS.Bind(uqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        Assert.Equal(1UL << serverOS.GetActor(uqd)!.Shard.Id, serverBackend.Inet.Ports.OwnersOf(17, 7));
        var udpEcho = DemiOverVeth.StartUdpEcho(serverOS, uqd);
        var serverAddress = Ipv4Address.Parse(veth.AddressA);

        // One TCP connection and one UDP socket from each client shard (descriptors go round robin).
        var tcpQds = new int[2];
        var udpQds = new int[2];
        for (int c = 0; c < 2; c++)
            Assert.Equal(0, clientOS.Socket(out tcpQds[c], SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        for (int c = 0; c < 2; c++)
            Assert.Equal(0, clientOS.Socket(out udpQds[c], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.NotEqual(clientOS.GetActor(tcpQds[0])!.Shard.Id, clientOS.GetActor(tcpQds[1])!.Shard.Id);
        Assert.NotEqual(clientOS.GetActor(udpQds[0])!.Shard.Id, clientOS.GetActor(udpQds[1])!.Shard.Id);
        const int Bytes = 1 << 20;
        for (int c = 0; c < 2; c++)
        {
            var server = TcpPeers.EchoOneConnection(serverOS, lqd, DemiOverVeth.Timeout);
            int qd = tcpQds[c];
            Assert.Equal(0, clientOS.Connect(out var cqt, qd, new Ipv4Endpoint(serverAddress, 7200)));
            DemiOverVeth.WaitOk(clientOS, cqt);
            var data = new byte[Bytes];
            new Random(c).NextBytes(data);
            var (hash, _, _) = TcpPeers.BulkThroughEcho(clientOS, qd, data, 1400, DemiOverVeth.Timeout);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(data), hash);
            Assert.Equal(0, clientOS.Close(qd));
            Assert.True(server.Wait(DemiOverVeth.Timeout));
            Assert.Equal(Bytes, server.Result);

            int cu = udpQds[c];
            Assert.Equal(0, clientOS.Bind(cu, new Ipv4Endpoint(Ipv4Address.Any, 0)));
            for (int i = 0; i < 50; i++)
            {
                string text = $"shard-socket-{c}-{i}";
                var sga = clientOS.SgaAlloc(text.Length);
                Encoding.ASCII.GetBytes(text, sga.Span);
                Assert.Equal(0, clientOS.Pop(out var p, cu));
                Assert.Equal(0, clientOS.PushTo(out var q, cu, sga, new Ipv4Endpoint(serverAddress, 7)));
                DemiOverVeth.WaitOk(clientOS, q);
                var reply = DemiOverVeth.WaitOk(clientOS, p, TimeSpan.FromSeconds(10));
                Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
                clientOS.SgaFree(reply.Sga);
                clientOS.SgaFree(sga);
            }
            Assert.Equal(0, clientOS.Close(cu));
        }
        // Each side's traffic for the shard that does not own the flow crossed over.
        Assert.True(serverBackend.Steering!.ForwardedFrames > 0, "server side steered nothing");
        Assert.True(clientBackend.Steering!.ForwardedFrames > 0, "client side steered nothing");
        Assert.Equal(0, serverBackend.Steering.DroppedFrames + clientBackend.Steering.DroppedFrames);
        Assert.Equal(0, serverOS.Close(uqd));
        Assert.Equal(0, serverOS.Close(lqd));
        Assert.True(udpEcho.Join(DemiOverVeth.Timeout), "closing the descriptor did not end the server thread's pending pop");
    }
}
