using System.Diagnostics;
using Demi.Buffers;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp.Tests;

public sealed class XdpNicQueueTests
{
    private const int Port = 7000;

    private static XdpNicQueue OpenA(VethNamespaces veth, XdpMode mode = XdpMode.Auto, int frameCount = 4096, int fillTarget = 0)
        => XdpNicQueue.Open(new XdpQueueOptions
        {
            Interface = veth.InterfaceA,
            NetworkNamespace = veth.NamespaceA,
            QueueId = 0,
            Mode = mode,
            FrameCount = frameCount,
            FillTarget = fillTarget,
        });

    /// <summary>Polls the queue until <paramref name="count"/> UDP frames to <see cref="Port"/> arrived or time runs out; releases every frame.</summary>
    private static List<Frames.Udp> ReceiveUdp(XdpNicQueue q, int count, TimeSpan timeout, bool release = true, List<PacketBuffer>? kept = null)
    {
        var got = new List<Frames.Udp>();
        var burst = new PacketBuffer[64];
        var sw = Stopwatch.StartNew();
        while (got.Count < count && sw.Elapsed < timeout)
        {
            int n = q.Receive(burst);
            for (int i = 0; i < n; i++)
            {
                if (Frames.TryParseUdp(burst[i].Span, out var udp) && udp.DstPort == Port)
                    got.Add(udp);
                if (release)
                    burst[i].Release();
                else
                    kept!.Add(burst[i]);
            }
            q.Flush();
            if (n == 0)
                Thread.Sleep(1);
        }
        return got;
    }

    [Theory]
    [InlineData(XdpMode.Native)]
    [InlineData(XdpMode.Generic)]
    public void Receives_kernel_udp_datagrams_with_correct_bytes(XdpMode mode)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        veth.AddNeighbor(VethSide.B, veth.AddressA, veth.MacA);
        using var q = OpenA(veth, mode);
        Assert.Equal(mode, q.AttachedMode);
        Assert.False(q.ZeroCopy); // veth: copy mode only
        Assert.Equal(veth.MacA, q.MacAddress);
        Assert.Equal(1500, q.Mtu);
        int start = q.Pool.Available + q.FramesInFillRing;
        Assert.Equal(q.Pool.Count, start);

        const int N = 200;
        veth.RunPython(VethSide.B, TimeSpan.FromSeconds(20), KernelPeer.UdpSender, veth.AddressA, Port.ToString(), N.ToString())
            .EnsureSuccess("python sender");
        var got = ReceiveUdp(q, N, TimeSpan.FromSeconds(10));

        Assert.Equal(N, got.Count);
        for (int i = 0; i < N; i++)
        {
            var u = got[i];
            Assert.True(u.IpChecksumOk, "IPv4 header checksum");
            Assert.True(u.UdpChecksumOk, "UDP checksum (peer TX offload is off, so it is complete)");
            Assert.Equal(Frames.Ip(veth.AddressB), u.SrcIp);
            Assert.Equal(Frames.Ip(veth.AddressA), u.DstIp);
            Assert.Equal(40000, u.SrcPort);
            byte[] expected = [.. System.Text.Encoding.ASCII.GetBytes($"demi-{i:D5}-"), .. Enumerable.Range(0, 48).Select(b => (byte)b)];
            Assert.Equal(expected, u.Payload);
        }
        var stats = q.GetStatistics();
        Assert.True(stats.RxFrames >= N);
        // Every frame came back: free in the pool or waiting on the fill ring.
        Assert.Equal(q.Pool.Count, q.Pool.Available + q.FramesInFillRing);
    }

    [Theory]
    [InlineData(XdpMode.Native)]
    [InlineData(XdpMode.Generic)]
    public void Transmits_csharp_built_frames_that_the_kernel_accepts(XdpMode mode)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var q = OpenA(veth, mode);
        const int N = 100;
        // N good datagrams plus one with a corrupted UDP checksum, which the kernel must drop:
        // this proves the kernel really checks what we send, so the good ones are correct.
        var peer = KernelPeer.StartUdpReceiver(veth, Port, N, timeoutSeconds: 3);
        var frames = new PacketBuffer[N + 1];
        for (int i = 0; i <= N; i++)
        {
            Assert.True(PacketBuffer.TryRent(q.Pool, out var f));
            byte[] payload = System.Text.Encoding.ASCII.GetBytes($"from-xsk-{i:D4}");
            int len = Frames.BuildUdp(f.Append(Frames.HeaderLength + payload.Length), q.MacAddress, veth.MacB,
                Frames.Ip(veth.AddressA), Frames.Ip(veth.AddressB), 5555, Port, payload, (ushort)i, corruptUdpChecksum: i == 0);
            Assert.Equal(f.Length, len);
            frames[i] = f;
        }
        int sent = 0;
        var sw = Stopwatch.StartNew();
        while (sent < frames.Length && sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            sent += q.Transmit(frames.AsSpan(sent));
            q.Flush();
        }
        Assert.Equal(frames.Length, sent);
        while (q.GetStatistics().TxCompleted < sent && sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            q.Flush();
            Thread.Sleep(1);
        }
        var lines = KernelPeer.CollectReceived(peer, TimeSpan.FromSeconds(10));
        if (lines.Count != N)
        {
            string diag = veth.Run(VethSide.B, "nstat", "-az").StandardOutput + veth.Run(VethSide.B, "ip", "-s", "link").StandardOutput
                + veth.Run(VethSide.A, "ip", "-s", "link").StandardOutput + q.GetStatistics();
            Assert.Fail($"kernel received {lines.Count} of {N}: {diag}");
        }
        for (int i = 1; i <= N; i++)
        {
            var l = lines[i - 1];
            Assert.Equal(veth.AddressA, l[0]);
            Assert.Equal("5555", l[1]);
            Assert.Equal(System.Text.Encoding.ASCII.GetBytes($"from-xsk-{i:D4}"), Convert.FromHexString(l[2]));
        }
        var stats = q.GetStatistics();
        Assert.Equal(N + 1, stats.TxFrames);
        Assert.Equal(N + 1, stats.TxCompleted);
        Assert.Equal(q.Pool.Count, q.Pool.Available + q.FramesInFillRing);
    }

    [Fact]
    public void Invalid_tx_frames_are_dropped_counted_and_not_leaked()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var q = OpenA(veth);
        using var other = new BufferPool(2048, 4, 128);
        Assert.True(PacketBuffer.TryRent(q.Pool, out var tooShort));
        tooShort.Append(5);
        Assert.True(PacketBuffer.TryRent(q.Pool, out var tooLong));
        tooLong.Append(tooLong.TailroomLeft);
        tooLong.TrimFront(0);
        Assert.True(PacketBuffer.TryRent(other, out var foreign));
        foreign.Append(100);
        int taken = q.Transmit([tooShort, tooLong, foreign]);
        Assert.Equal(3, taken);
        q.Flush();
        var stats = q.GetStatistics();
        Assert.Equal(3, stats.TxDroppedInvalid);
        Assert.Equal(0, stats.TxFrames);
        Assert.Equal(q.Pool.Count, q.Pool.Available + q.FramesInFillRing);
        Assert.Equal(other.Count, other.Available);
    }

    [Fact]
    public void Auto_mode_uses_native_on_veth()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var q = OpenA(veth);
        Assert.Equal(XdpMode.Native, q.AttachedMode);
        Assert.Null(q.FallbackReason);
        var link = veth.Run(VethSide.A, "ip", "-d", "link", "show", veth.InterfaceA).StandardOutput;
        Assert.Contains("xdp", link);
    }

    /// <summary>
    /// A bridge has no native XDP: auto mode must end up in generic mode, with the reason, for a queue of
    /// its own UMEM and for a backend's shared one. (The failed native attach leaves the socket bound, so
    /// the generic attempt on it was EBUSY until the open gave up.)
    /// </summary>
    [Fact]
    public void Auto_mode_falls_back_to_generic_on_a_device_without_native_xdp()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        const string bridge = "demi-br";
        veth.Run(VethSide.A, "ip", "link", "add", bridge, "type", "bridge").EnsureSuccess("ip link add bridge");
        veth.Run(VethSide.A, "ip", "link", "set", bridge, "up").EnsureSuccess("ip link set bridge up");
        var options = new XdpQueueOptions { Interface = bridge, NetworkNamespace = veth.NamespaceA };
        using (var q = XdpNicQueue.Open(options))
        {
            Assert.Equal(XdpMode.Generic, q.AttachedMode);
            Assert.Contains($"errno {Errno.ENOTSUP}", q.FallbackReason);
        }
        // Native mode asked for fails, and says why in the kernel's words (libbpf's warning, kept off stderr).
        var native = Assert.Throws<XdpException>(() => XdpNicQueue.Open(new XdpQueueOptions { Interface = bridge, NetworkNamespace = veth.NamespaceA, Mode = XdpMode.Native }));
        Assert.Equal(Errno.ENOTSUP, native.Errno);
        Assert.Contains("does not support XDP in native mode", native.Message);
        using var backend = XdpBackend.Create(options, new Demi.Inet.InetStackOptions { LocalAddress = Ipv4Address.Parse("10.99.7.1"), PrefixLength = 24 });
        Assert.Equal(XdpMode.Generic, backend.Queues[0].AttachedMode);
        Assert.Contains($"errno {Errno.ENOTSUP}", backend.Queues[0].FallbackReason);
    }

    [Fact]
    public void No_frame_leaks_over_many_rx_tx_rounds_and_dispose_returns_all()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        veth.AddNeighbor(VethSide.B, veth.AddressA, veth.MacA);
        var q = OpenA(veth, frameCount: 512);
        var pool = q.Pool;
        try
        {
            for (int round = 0; round < 5; round++)
            {
                veth.RunPython(VethSide.B, TimeSpan.FromSeconds(20), KernelPeer.UdpSender, veth.AddressA, Port.ToString(), "100")
                    .EnsureSuccess("python sender");
                var kept = new List<PacketBuffer>();
                var got = ReceiveUdp(q, 100, TimeSpan.FromSeconds(10), release: false, kept: kept);
                Assert.Equal(100, got.Count);
                // Send every received frame back out as is (swap nothing: the peer drops them, which is fine).
                var frames = kept.ToArray();
                int sent = 0;
                var sw = Stopwatch.StartNew();
                while (sent < frames.Length && sw.Elapsed < TimeSpan.FromSeconds(5))
                {
                    sent += q.Transmit(frames.AsSpan(sent));
                    q.Flush();
                }
                Assert.Equal(frames.Length, sent);
                while (q.GetStatistics().TxCompleted < q.GetStatistics().TxFrames && sw.Elapsed < TimeSpan.FromSeconds(5))
                {
                    q.Flush();
                    Thread.Sleep(1);
                }
                Assert.Equal(pool.Count, pool.Available + q.FramesInFillRing);
            }
        }
        finally
        {
            q.Dispose();
        }
        Assert.Equal(pool.Count, pool.Available);
    }

    [Fact]
    public void Pool_exhaustion_drops_and_counts_then_recovers()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        veth.AddNeighbor(VethSide.B, veth.AddressA, veth.MacA);
        using var q = OpenA(veth, frameCount: 64, fillTarget: 32);
        // The app holds every frame not on the fill ring.
        var held = new List<PacketBuffer>();
        while (PacketBuffer.TryRent(q.Pool, out var b))
            held.Add(b);
        veth.RunPython(VethSide.B, TimeSpan.FromSeconds(20), KernelPeer.UdpSender, veth.AddressA, Port.ToString(), "100")
            .EnsureSuccess("python sender");
        var kept = new List<PacketBuffer>();
        var got = ReceiveUdp(q, 100, TimeSpan.FromSeconds(2), release: false, kept: kept);
        Assert.True(got.Count <= 32, $"received {got.Count} with only 32 RX buffers");
        var stats = q.GetStatistics();
        Assert.True(stats.FillPoolEmpty > 0);
        Assert.True(stats.KernelRxFillEmpty + stats.KernelRxDropped > 0, "the kernel counts the frames it had no buffer for");
        // Give everything back: reception resumes.
        foreach (var b in held.Concat(kept))
            b.Release();
        q.Flush();
        veth.RunPython(VethSide.B, TimeSpan.FromSeconds(20), KernelPeer.UdpSender, veth.AddressA, Port.ToString(), "20")
            .EnsureSuccess("python sender");
        var again = ReceiveUdp(q, 20, TimeSpan.FromSeconds(10));
        Assert.Equal(20, again.Count);
        Assert.Equal(q.Pool.Count, q.Pool.Available + q.FramesInFillRing);
    }

    /// <summary>
    /// The first socket on a UMEM failing to bind (its queue held by another socket) must leave the UMEM's
    /// rings mapped and usable. libxdp unmapped them on that failure and again in <c>xsk_umem__delete</c>,
    /// which took out whatever the process had mapped there in between: the test host crashed so,
    /// intermittently, in the retried opens of the stale-program test below. Here the next socket on the
    /// same UMEM writes the fill ring the failure would have unmapped.
    /// </summary>
    [Fact]
    public void A_socket_that_fails_to_bind_leaves_its_umem_usable_for_the_next()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        veth.AddNeighbor(VethSide.B, veth.AddressA, veth.MacA);
        var options = new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA, Mode = XdpMode.Generic };
        using var umem = new XdpUmem(frameCount: 4096, networkNamespace: veth.NamespaceA);
        using (XdpNicQueue.Open(options))
        {
            var busy = Assert.Throws<XdpException>(() => XdpNicQueue.Open(options, umem));
            Assert.Equal(Errno.EBUSY, busy.Errno);
        }
        // The kernel frees the closed socket's queue in deferred work, and an open on a given UMEM does not retry.
        XdpNicQueue? q = null;
        var sw = Stopwatch.StartNew();
        while (q is null)
        {
            try
            {
                q = XdpNicQueue.Open(options, umem);
            }
            catch (XdpException e) when (e.Errno == Errno.EBUSY && sw.Elapsed < TimeSpan.FromSeconds(5))
            {
                Thread.Sleep(25);
            }
        }
        using (q)
        {
            Assert.Equal(umem.Pool.Count, q.Pool.Available + q.FramesInFillRing);
            veth.RunPython(VethSide.B, TimeSpan.FromSeconds(20), KernelPeer.UdpSender, veth.AddressA, Port.ToString(), "50")
                .EnsureSuccess("python sender");
            Assert.Equal(50, ReceiveUdp(q, 50, TimeSpan.FromSeconds(10)).Count);
        }
    }

    [Fact]
    public void Dispose_detaches_the_program_and_a_stale_program_is_removed_on_open()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        // What a killed run leaves: libxdp's AF_XDP program attached, no socket alive.
        using (veth.Enter(VethSide.A))
        {
            int ifIndex = (int)LibC.if_nametoindex(veth.InterfaceA);
            int mapFd;
            unsafe
            {
                Assert.Equal(0, TestNative.xsk_setup_xdp_prog(ifIndex, &mapFd));
            }
            LibC.close(mapFd);
        }
        Assert.Contains("xdp", veth.Run(VethSide.A, "ip", "link", "show", veth.InterfaceA).StandardOutput);
        using (var q = OpenA(veth, XdpMode.Generic))
        {
            Assert.True(q.RemovedStaleProgram);
            Assert.Equal(XdpMode.Generic, q.AttachedMode);
        }
        string after = veth.Run(VethSide.A, "ip", "link", "show", veth.InterfaceA).StandardOutput;
        Assert.DoesNotContain("xdp", after.Replace("demi-", "", StringComparison.Ordinal));
        // And a fresh open finds nothing stale.
        using var q2 = OpenA(veth);
        Assert.False(q2.RemovedStaleProgram);
    }
}
