using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Demi.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace Demi.Orleans.Tests;

/// <summary>A real 2-silo Orleans cluster in process, each silo with its own libOS on kernel sockets over 127.0.0.1.</summary>
public sealed class ClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(2);
        builder.ConfigureSilo((options, silo) => silo.UseDemi(o => { o.Backend = "kernel"; o.DrainTimeout = TimeSpan.FromSeconds(20); }));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
        // Placement sees only the silos its membership view lists: wait until both are active.
        await _cluster.WaitForLivenessToStabilizeAsync();
    }

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    private IGrainFactory Grains => _cluster.Client;

    // Random placement: probe keys until one grain lives on each silo.
    private async Task<(IEchoGrain Grain, SocketPorts Ports)[]> OneGrainPerSilo()
    {
        var found = new Dictionary<string, (IEchoGrain, SocketPorts)>();
        for (int key = 0; found.Count < 2 && key < 200; key++)
        {
            var grain = Grains.GetGrain<IEchoGrain>(key);
            var ports = await grain.Open();
            found.TryAdd(ports.Silo, (grain, ports));
        }
        Assert.Equal(2, found.Count);
        return found.Values.ToArray();
    }

    private LibOS LibOSOf(string silo)
    {
        var handle = _cluster.Silos.Single(s => s.SiloAddress.ToString() == silo);
        return _cluster.GetSiloServiceProvider(handle.SiloAddress).GetRequiredService<DemiRuntime>().LibOS;
    }

    [Fact]
    public async Task AGrainOnEachSilo_ServesUdpAndTcp_OnItsOwnScheduler()
    {
        var grains = await OneGrainPerSilo();
        Assert.NotSame(LibOSOf(grains[0].Ports.Silo), LibOSOf(grains[1].Ports.Silo)); // one libOS per silo
        foreach (var (grain, ports) in grains)
        {
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            udp.ReceiveTimeout = 10_000;
            var buffer = new byte[64];
            for (int i = 0; i < 5; i++)
            {
                udp.SendTo([(byte)'u', (byte)i], new IPEndPoint(IPAddress.Loopback, ports.Udp));
                Assert.Equal(2, udp.Receive(buffer));
                Assert.Equal((byte)i, buffer[1]);
            }

            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await tcp.ConnectAsync(new IPEndPoint(IPAddress.Loopback, ports.Tcp));
            var message = "hello grain over demi tcp"u8.ToArray();
            await tcp.SendAsync(message);
            var echoed = new byte[message.Length];
            int got = 0;
            using var cts = new CancellationTokenSource(Timeout);
            while (got < echoed.Length)
                got += await tcp.ReceiveAsync(echoed.AsMemory(got), cts.Token);
            Assert.Equal(message, echoed);

            var stats = await grain.Stats();
            Assert.Equal(0, stats.OnShardThread);
            Assert.Equal(0, stats.OffScheduler);
            Assert.Equal(0, stats.Overlaps);
        }
    }

    [Fact]
    public async Task Deactivation_ClosesTheActivationsDescriptors()
    {
        var (grain, ports) = (await OneGrainPerSilo())[0];
        var libOS = LibOSOf(ports.Silo);
        Assert.Equal(2, await grain.OpenDescriptors()); // UDP + listener
        int before = libOS.OpenDescriptors;
        await grain.Deactivate();
        Assert.True(SpinWait.SpinUntil(() => libOS.OpenDescriptors == before - 2, Timeout), $"open descriptors stayed {libOS.OpenDescriptors}");
        // The listener is closed (its close runs on the shard just after the descriptor leaves the table).
        Assert.True(SpinWait.SpinUntil(() =>
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Connect(new IPEndPoint(IPAddress.Loopback, ports.Tcp));
                return false;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                return true;
            }
        }, Timeout), "the grain's TCP port still accepts connections");
    }

    [Fact]
    public async Task ADemiExceptionInAGrain_ReachesTheCaller_WithItsErrno()
    {
        var (grain, _) = (await OneGrainPerSilo())[0];
        ushort closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // bound, never listening: a connect is refused
            closedPort = (ushort)((IPEndPoint)probe.LocalEndPoint!).Port;
            var error = await Assert.ThrowsAsync<DemiException>(() => grain.ConnectTo(closedPort));
            Assert.Equal(Errno.ECONNREFUSED, error.ErrorCode);
            Assert.Contains("ECONNREFUSED", error.Message);
        }
    }

    [Fact]
    public async Task HundredThousandDatagrams_ArriveCompleteAndInOrderPerSender()
    {
        const int Total = 100_000, Senders = 2, Window = 128;
        var (grain, ports) = (await OneGrainPerSilo())[0];
        var target = new IPEndPoint(IPAddress.Loopback, ports.Udp);
        var senders = Enumerable.Range(0, Senders).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp)).ToArray();
        try
        {
            var payload = new byte[16];
            int sent = 0;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (sent < Total)
            {
                // A window per round, then wait for the grain to catch up (it keeps up: no drops allowed).
                for (int i = 0; i < Window && sent < Total; i++, sent++)
                {
                    int sender = sent % Senders;
                    BinaryPrimitives.WriteInt32LittleEndian(payload, sender);
                    BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(4), sent / Senders);
                    senders[sender].SendTo(payload, target);
                }
                while ((await grain.Stats()).Received + (await grain.Stats()).Dropped < sent)
                {
                    Assert.True(DateTime.UtcNow < deadline, $"grain stalled at {(await grain.Stats()).Received} of {sent}");
                    await Task.Delay(1);
                }
            }
            var stats = await grain.Stats();
            Assert.Equal(Total, stats.Received);
            Assert.Equal(0, stats.Dropped);
            Assert.Equal(0, stats.OutOfOrder);
            Assert.Equal(Senders, stats.Senders);
            Assert.Equal(0, stats.OnShardThread);
            Assert.Equal(0, stats.OffScheduler);
            Assert.Equal(0, stats.Overlaps);
        }
        finally
        {
            foreach (var s in senders)
                s.Dispose();
        }
    }

    [Fact]
    public async Task SiloShutdown_DrainsWhatGrainsPushed()
    {
        // More than the kernel's buffers hold while nobody reads (the receive buffer, fixed small on the listener
        // so that autotuning cannot grow it to tcp_rmem's maximum, plus the sender's, up to tcp_wmem's 4 MB):
        // the rest must stay queued in Demi. With 4 MB and autotuning, once, all of it fit in the kernel.
        const int Chunk = 64 * 1024, Chunks = 128;
        var (grain, ports) = (await OneGrainPerSilo())[0];
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 64 * 1024; // inherited by the accepted socket
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        await grain.StartBulkSend((ushort)((IPEndPoint)listener.LocalEndPoint!).Port, Chunks, Chunk);
        using var accepted = await listener.AcceptAsync();
        var libOS = LibOSOf(ports.Silo);
        Assert.True(SpinWait.SpinUntil(() => libOS.UnsentDescriptors() > 0, Timeout), "nothing queued");

        var silo = _cluster.Silos.Single(s => s.SiloAddress.ToString() == ports.Silo);
        var stopping = _cluster.StopSiloAsync(silo);
        await Task.Delay(500);
        long received = 0;
        int expected = 0, inChunk = 0;
        var buffer = new byte[256 * 1024];
        accepted.ReceiveTimeout = 30_000;
        while (true)
        {
            int n = accepted.Receive(buffer);
            if (n == 0)
                break;
            for (int i = 0; i < n;)
            {
                int run = Math.Min(n - i, Chunk - inChunk);
                Assert.True(buffer.AsSpan(i, run).IndexOfAnyExcept((byte)expected) < 0, $"wrong bytes in chunk {expected}");
                i += run;
                inChunk += run;
                if (inChunk == Chunk)
                {
                    inChunk = 0;
                    expected++;
                }
            }
            received += n;
        }
        await stopping.WaitAsync(Timeout);
        Assert.Equal((long)Chunk * Chunks, received);
    }
}
