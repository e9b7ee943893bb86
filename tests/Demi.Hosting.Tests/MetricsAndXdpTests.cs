using System.Diagnostics.Metrics;
using Demi.Async;
using Demi.Transport.Xdp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Hosting;

namespace Demi.Hosting.Tests;

/// <summary>The "Demi" meter observed with MetricCollector, on kernel sockets and on AF_XDP between namespaces.</summary>
public sealed class MetricsAndXdpTests
{
    [Fact]
    public async Task KernelBackend_PublishesRuntimeGauges()
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { ["ShardCount"] = "2" });
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var free = new MetricCollector<int>(meterFactory, DemiMetrics.MeterName, "demi.buffers.free");
        using var tokens = new MetricCollector<int>(meterFactory, DemiMetrics.MeterName, "demi.tokens.in_use");
        using var descriptors = new MetricCollector<int>(meterFactory, DemiMetrics.MeterName, "demi.descriptors.open");
        using var mailbox = new MetricCollector<int>(meterFactory, DemiMetrics.MeterName, "demi.mailbox.depth");
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        using var udp = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        var held = udp.Allocate(100);
        var pendingPop = udp.PopAsync(); // one token in flight
        // A barrier on every shard: the pop is served first (same poster, FIFO mailbox), so its receive
        // attempt has given back the buffers it rented for recvmmsg before the gauges are read.
        foreach (var shard in libOS.Shards)
            Assert.Equal(0, shard.Invoke(() => 0));

        free.RecordObservableInstruments();
        tokens.RecordObservableInstruments();
        descriptors.RecordObservableInstruments();
        mailbox.RecordObservableInstruments();
        Assert.Equal(libOS.Buffers.Pool.Count - 1, free.LastMeasurement!.Value);
        Assert.Equal(1, tokens.LastMeasurement!.Value);
        Assert.Equal(1, descriptors.LastMeasurement!.Value);
        var depths = mailbox.GetMeasurementSnapshot();
        Assert.Equal(2, depths.Count); // one per shard, tagged
        Assert.Equal(new object?[] { 0, 1 }, depths.Select(m => m.Tags["shard"]).OrderBy(t => t).ToArray());

        udp.Free(held);
        udp.Dispose();
        await Assert.ThrowsAsync<DemiException>(async () => await pendingPop); // ECANCELED by the close
        await host.StopAsync();
        free.Clear();
        free.RecordObservableInstruments();
        Assert.Empty(free.GetMeasurementSnapshot()); // a stopped host reports nothing
    }

    [Fact]
    public async Task XdpBackend_BetweenNamespaces_CountsFramesBytesDrops_AndLogsDropSummaries()
    {
        TestHost.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var host = TestHost.Build(new Dictionary<string, string?>
        {
            ["Backend"] = "xdp",
            ["Xdp:Interface"] = veth.InterfaceA,
            ["Xdp:Namespace"] = veth.NamespaceA,
            ["Xdp:Address"] = $"{veth.AddressA}/24",
            ["DropSummaryInterval"] = "00:00:00.200",
        });
        var meterFactory = host.Services.GetRequiredService<IMeterFactory>();
        using var rxFrames = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.rx.frames");
        using var txFrames = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.tx.frames");
        using var rxBytes = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.rx.bytes");
        using var txBytes = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.tx.bytes");
        using var drops = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.drops");
        using var connections = new MetricCollector<int>(meterFactory, DemiMetrics.MeterName, "demi.tcp.connections");
        using var retransmissions = new MetricCollector<long>(meterFactory, DemiMetrics.MeterName, "demi.tcp.retransmissions");
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        Assert.Equal("xdp", libOS.Backend.Name);

        // A UDP echo in Demi; a kernel peer in the other namespace sends 20 datagrams and checks each echo.
        await TestHost.AssertKernelPeerGetsUdpEchoes(libOS, veth, 7000, 20);

        // Datagrams to a port nobody has: dropped by the stack, counted by reason, summarised in the log.
        var noPort = veth.RunPython(VethSide.B, TestHost.Timeout, "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(5): s.sendto(b'x', (sys.argv[1], 7999))", veth.AddressA);
        Assert.True(noPort.Succeeded, noPort.StandardError);
        Assert.True(SpinWait.SpinUntil(() => host.Logs().Any(r => r.Id.Name == "FramesDropped" && r.Message.Contains("udp_no_socket")), TestHost.Timeout),
            "no rate-limited drop summary: " + string.Join(" | ", host.Logs().Select(r => r.Message)));

        foreach (var c in new[] { rxFrames, txFrames, rxBytes, txBytes, drops, retransmissions })
            c.RecordObservableInstruments();
        connections.RecordObservableInstruments();
        Assert.True(rxFrames.GetMeasurementSnapshot().Sum(m => m.Value) >= 25); // 20 echoes + 5 strays (+ ARP)
        Assert.True(txFrames.GetMeasurementSnapshot().Sum(m => m.Value) >= 20);
        Assert.True(rxBytes.GetMeasurementSnapshot().Sum(m => m.Value) >= 25 * 42);
        Assert.True(txBytes.GetMeasurementSnapshot().Sum(m => m.Value) >= 20 * 42);
        var noSocket = drops.GetMeasurementSnapshot().Where(m => (string?)m.Tags["reason"] == "udp_no_socket").Sum(m => m.Value);
        Assert.Equal(5, noSocket);
        Assert.NotEmpty(connections.GetMeasurementSnapshot()); // the stack's TCP reports its states
        Assert.All(connections.GetMeasurementSnapshot(), m => Assert.Equal(0, m.Value));
        Assert.NotEmpty(retransmissions.GetMeasurementSnapshot());

        await host.StopAsync();
        Assert.True(host.Logged("BackendStopped"));
    }
}
