using System.Text;
using Demi.Inet;

namespace Demi.Transport.Xdp.Tests;

/// <summary>The libOS over AF_XDP on a veth, against the Linux kernel in the peer namespace (no static ARP entries).</summary>
public sealed class XdpBackendTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static LibOS CreateLibOS(VethNamespaces veth, out XdpBackend backend)
    {
        backend = XdpBackend.Create(
            new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA },
            new InetStackOptions { LocalAddress = Ipv4Address.Parse(veth.AddressA), PrefixLength = 24 });
        return new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1 });
    }

    private static QResult WaitOk(LibOS libOS, ulong qt)
    {
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.False(result.Failed, $"operation failed: {Errno.Name(result.Error)}");
        return result;
    }

    [Fact]
    public void Kernel_ping_gets_replies_from_demi_after_arp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = CreateLibOS(veth, out var backend);
        var ping = veth.Run(VethSide.B, TimeSpan.FromSeconds(20), "ping", "-c", "5", "-i", "0.2", "-W", "2", veth.AddressA);
        Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
        Assert.Contains("5 received", ping.StandardOutput);
        // The kernel learned Demi's MAC through ARP (no static entry was added).
        var neigh = veth.Run(VethSide.B, "ip", "neigh", "show", veth.AddressA).StandardOutput;
        Assert.Contains(veth.MacA.ToString(), neigh);
        Assert.DoesNotContain("PERMANENT", neigh);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the kernel's datagrams carry CHECKSUM_PARTIAL checksums, completed by the queue
    public void Kernel_udp_client_is_echoed_by_a_demi_server(bool peerTxChecksumOff)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { PeerTxChecksumOff = peerTxChecksumOff });
        using var libOS = CreateLibOS(veth, out var backend);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        using var stop = new CancellationTokenSource();
        int echoed = 0;
        var server = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (libOS.Pop(out var popQt, qd) != 0)
                    return;
                if (libOS.Wait(out var r, popQt, Timeout) != 0 || r.Failed)
                    return;
                // Echo from the received frame itself: zero-copy both ways. Only a completed echo counts.
                bool ok = libOS.PushTo(out var pushQt, qd, r.Sga, r.Sga.Address.Endpoint) == 0
                    && libOS.Wait(out var pushed, pushQt, Timeout) == 0 && !pushed.Failed;
                libOS.SgaFree(r.Sga);
                if (!ok)
                    return;
                Interlocked.Increment(ref echoed);
            }
        }) { IsBackground = true };
        server.Start();
        const int N = 200;
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", N.ToString(), "2");
        client.EnsureSuccess("python echo client");
        Assert.Equal($"ok {N}", client.StandardOutput.Trim());
        Assert.Equal(N, Volatile.Read(ref echoed));
        if (!peerTxChecksumOff)
            Assert.True(backend.Queues[0].GetStatistics().RxPartialChecksumsCompleted >= N);
        stop.Cancel();
        libOS.Close(qd);
        Assert.True(server.Join(Timeout), "closing the descriptor did not end the server thread's pending pop");
    }

    [Fact]
    public void Demi_udp_client_gets_replies_from_a_kernel_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        const int N = 200;
        var peer = veth.Start(VethSide.B, "python3", "-c", KernelPeer.UdpEchoServer, veth.AddressB, "7", N.ToString(), "10");
        Assert.Equal("ready", peer.StandardOutput.ReadLine());
        using var libOS = CreateLibOS(veth, out var backend);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 0)));
        var echo = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7);
        int startAvailable = backend.BufferPool!.Available + backend.Queues[0].FramesInFillRing;
        for (int i = 0; i < N; i++)
        {
            string text = $"demi-datagram-{i}";
            var sga = libOS.SgaAlloc(text.Length);
            Encoding.ASCII.GetBytes(text, sga.Span);
            Assert.Equal(0, libOS.Pop(out var popQt, qd));
            Assert.Equal(0, libOS.PushTo(out var pushQt, qd, sga, echo));
            WaitOk(libOS, pushQt);
            var reply = WaitOk(libOS, popQt);
            Assert.Equal(text, Encoding.ASCII.GetString(reply.Sga.Span));
            Assert.Equal(echo, reply.Sga.Address.Endpoint);
            Assert.Equal(0, libOS.SgaFree(reply.Sga));
            Assert.Equal(0, libOS.SgaFree(sga));
        }
        Assert.True(peer.WaitForExit(10_000));
        Assert.Equal($"done {N}", peer.StandardOutput.ReadLine());
        // Demi resolved the kernel's MAC by ARP; the kernel learned Demi's.
        Assert.Contains(veth.MacA.ToString(), veth.Run(VethSide.B, "ip", "neigh", "show", veth.AddressA).StandardOutput);
        Assert.Equal(0, libOS.Close(qd));
        _ = startAvailable;
    }

    [Fact]
    public void Malformed_burst_from_the_peer_is_dropped_and_counted_while_echo_keeps_working()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = CreateLibOS(veth, out _);
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var server = new Thread(() =>
        {
            while (libOS.Pop(out var popQt, qd) == 0 && libOS.Wait(out var r, popQt, Timeout) == 0 && !r.Failed)
            {
                // A failed echo ends the server, so the kernel client reports the shortfall.
                bool ok = libOS.PushTo(out var pushQt, qd, r.Sga, r.Sga.Address.Endpoint) == 0
                    && libOS.Wait(out var pushed, pushQt, Timeout) == 0 && !pushed.Failed;
                libOS.SgaFree(r.Sga);
                if (!ok)
                    return;
            }
        }) { IsBackground = true };
        server.Start();
        var first = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "20", "2");
        Assert.Equal("ok 20", first.StandardOutput.Trim());
        long dropsBefore = InetBackend.StackOf(libOS.Shards[0])!.Counters.TotalDrops;
        var burst = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.MalformedBurst, veth.InterfaceB,
            veth.MacA.ToString(), veth.MacB.ToString(), veth.AddressB, veth.AddressA, "50");
        burst.EnsureSuccess("malformed burst");
        Assert.Equal("300", burst.StandardOutput.Trim());
        var second = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "20", "2");
        Assert.Equal("ok 20", second.StandardOutput.Trim());
        var counters = InetBackend.StackOf(libOS.Shards[0])!.Counters;
        Assert.True(counters.TotalDrops - dropsBefore >= 300, $"drops {counters.TotalDrops - dropsBefore}: {counters}");
        libOS.Close(qd);
        Assert.True(server.Join(Timeout), "closing the descriptor did not end the server thread's pending pop");
    }
}
