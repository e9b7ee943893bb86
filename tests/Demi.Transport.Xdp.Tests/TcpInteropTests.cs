using System.Security.Cryptography;
using Demi.Tests.Shared;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// TCP over AF_XDP and the user-space stack against the Linux kernel's TCP in the peer namespace
/// (no static ARP entries), and between two Demi instances: 10 MB each way with SHA-256 equality and
/// a clean close (FIN both ways: a reset fails the kernel side).
/// </summary>
public sealed class TcpInteropTests(ITestOutputHelper output)
{
    private const int Total = 10 * 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private void Report(string line)
    {
        output.WriteLine(line);
        File.AppendAllText("/tmp/demi-xdp-bench.txt", $"{DateTime.UtcNow:O} {line}\n");
    }

    private static string? CapturePath(string name)
        => Environment.GetEnvironmentVariable("DEMI_XDP_PCAP") is { Length: > 0 } dir ? Path.Combine(dir, name) : null;

    [Theory]
    [InlineData(true, XdpMode.Auto)]
    [InlineData(false, XdpMode.Auto)]
    // Generic mode only with the peer's offloads off: nothing turns the peer's TSO off then, and
    // 64 KB GSO segments do not fit a UMEM frame (native mode makes veth drop GSO on the peer).
    [InlineData(true, XdpMode.Generic)]
    public void Kernel_client_moves_10MB_through_a_demi_echo_server(bool peerTxChecksumOff, XdpMode mode)
    {
        Privileges.RequireRoot();
        // With the peer's TX checksum offload on, the kernel may hand veth CHECKSUM_PARTIAL segments.
        using var veth = VethNamespaces.Create(new VethOptions { PeerTxChecksumOff = peerTxChecksumOff });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, tcp: true, capturePath: CapturePath("kernel-client"), mode: mode);
        var (parts, lqd) = KernelPeerScenarios.KernelClientMovesThroughDemiEcho(veth, libOS, Total, Timeout);
        long completed = backend.Queues[0].GetStatistics().RxPartialChecksumsCompleted;
        // With offload on, the kernel's segments reached us with partial checksums that the queue completed.
        if (!peerTxChecksumOff)
            Assert.True(completed > 0, "no partial checksum seen with the peer's TX offload on");
        Assert.Equal(0, Demi.Inet.Tcp.TcpTransport.LayerOf(libOS.Shards[0]) is { } layer ? libOS.Shards[0].Invoke(() => (int)layer.Statistics.ChecksumErrors) : 0);
        double secs = double.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture);
        Report($"tcp kernel client -> demi-xdp echo server (peer tx csum {(peerTxChecksumOff ? "off" : "on")}), 10 MB each way concurrently: {Total * 8 / secs / 1e6:F1} Mbit/s per direction ({secs:F2} s)");
        Assert.Equal(0, libOS.Close(lqd));
    }

    [Fact]
    public void Demi_client_moves_10MB_through_a_kernel_socat_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var socat = KernelPeerScenarios.StartSocatEcho(veth, 7001);
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out _, tcp: true, capturePath: CapturePath("socat"));
        var remote = new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressB), 7001);
        int qd = KernelPeerScenarios.ConnectWithRetry(libOS, remote, Timeout);
        var data = new byte[Total];
        new Random(1).NextBytes(data);
        (byte[] Hash, long Bytes, TimeSpan Elapsed) result;
        try
        {
            result = TcpPeers.BulkThroughEcho(libOS, qd, data, 1400, Timeout);
        }
        catch (Exception e)
        {
            string wchan = File.Exists($"/proc/{socat.Id}/wchan") ? File.ReadAllText($"/proc/{socat.Id}/wchan") : "?";
            throw new Xunit.Sdk.XunitException(e.Message + $"\nsocat blocked in: {wchan}\n" + Diagnose(veth, libOS));
        }
        var (hash, bytes, elapsed) = result;
        Assert.Equal(Total, bytes);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal(0, libOS.Close(qd));
        KernelPeerScenarios.AssertSocatClosedCleanly(socat);
        Report($"tcp demi-xdp client -> kernel socat echo, 10 MB each way concurrently: {Total * 8 / elapsed.TotalSeconds / 1e6:F1} Mbit/s per direction ({elapsed.TotalSeconds:F2} s)");
    }

    [Fact]
    public void Demi_client_moves_10MB_through_a_demi_echo_server()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { KernelAddressOnB = false });
        using var serverOS = DemiOverVeth.Create(veth, VethSide.A, out _, tcp: true, capturePath: CapturePath("d2d"));
        using var clientOS = DemiOverVeth.Create(veth, VethSide.B, out _, tcp: true, capturePath: CapturePath("d2d"));
        var (elapsed, lqd) = KernelPeerScenarios.DemiClientMovesThroughDemiEcho(serverOS, clientOS,
            new Ipv4Endpoint(Ipv4Address.Parse(veth.AddressA), 7002), Total, seed: 2, Timeout);
        Report($"tcp demi-xdp <-> demi-xdp echo, 10 MB each way concurrently: {Total * 8 / elapsed.TotalSeconds / 1e6:F1} Mbit/s per direction ({elapsed.TotalSeconds:F2} s)");
        Assert.Equal(0, serverOS.Close(lqd));
    }

    /// <summary>What both ends looked like when a transfer stalled: the kernel's socket (ss), Demi's TCP and stack counters, the XSK's.</summary>
    internal static string Diagnose(VethNamespaces veth, LibOS libOS)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("kernel (B) sockets: " + veth.Run(VethSide.B, "ss", "-tinoem").StandardOutput);
        sb.AppendLine("kernel (B) netstat: " + veth.Run(VethSide.B, "nstat", "-az", "TcpExt*Drop*", "TcpRetransSegs", "TcpExtTCPLost*", "TcpInErrs", "TcpInCsumErrors").StandardOutput);
        foreach (var shard in libOS.Shards)
        {
            shard.Invoke(() =>
            {
                var layer = Demi.Inet.Tcp.TcpTransport.LayerOf(shard);
                var stack = Demi.Inet.InetBackend.StackOf(shard);
                if (layer is not null)
                    sb.AppendLine($"demi shard {shard.Id} tcp: " + System.Text.Json.JsonSerializer.Serialize(layer.Statistics, new System.Text.Json.JsonSerializerOptions { IncludeFields = true }));
                if (stack is not null)
                    sb.AppendLine($"demi shard {shard.Id} stack: {stack.Counters}; pool available {stack.Pool.Available}");
                return 0;
            });
        }
        if (libOS.Backend is XdpBackend xdp)
            foreach (var q in xdp.Queues)
                sb.AppendLine($"xsk queue {q.Options.QueueId}: " + System.Text.Json.JsonSerializer.Serialize(q.GetStatistics()) + $" in fill {q.FramesInFillRing}");
        return sb.ToString();
    }
}
