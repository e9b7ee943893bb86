using System.Net;
using System.Net.Sockets;
using Demi.Async;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Demi.Hosting.Tests;

/// <summary>The libOS lives exactly as long as the host: started with it, drained and disposed when it stops.</summary>
public sealed class HostLifetimeTests
{
    [Fact]
    public async Task KernelBackend_StartsWithTheHost_ServesUdp_AndStops()
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { ["Backend"] = "kernel", ["ShardCount"] = "2" });
        var runtime = host.Services.GetRequiredService<DemiRuntime>();
        Assert.False(runtime.IsRunning);
        Assert.Throws<InvalidOperationException>(() => runtime.LibOS); // not before the host starts

        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        Assert.Same(runtime.LibOS, libOS);
        Assert.Equal(2, libOS.Shards.Count);

        // A real kernel peer over 127.0.0.1 and a Demi UDP echo through the hosted libOS.
        using var server = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        peer.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        peer.SendTo("ping"u8.ToArray(), server.LocalEndPoint.ToIPEndPoint());
        using var cts = new CancellationTokenSource(TestHost.Timeout);
        var (data, from) = await server.ReceiveFromAsync(cts.Token);
        Assert.Equal("ping"u8.ToArray(), data.ToArray());
        await server.SendToAsync(data, from, cts.Token);
        server.Free(data);
        var reply = new byte[16];
        peer.ReceiveTimeout = 10_000;
        Assert.Equal(4, peer.Receive(reply));

        await host.StopAsync();
        Assert.False(runtime.IsRunning);
        Assert.Throws<InvalidOperationException>(() => runtime.LibOS);
        Assert.Equal(Errno.EBADF, libOS.Socket(out _, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0)); // disposed
        Assert.True(host.Logged("BackendStarting"));
        Assert.True(host.Logged("BackendStarted"));
        Assert.True(host.Logged("BackendStopped"));
        var started = host.Logs().Single(r => r.Id.Name == "BackendStarted");
        Assert.Equal(LogLevel.Information, started.Level);
        Assert.Contains("kernel", started.Message);
    }

    [Fact]
    public async Task Stop_DrainsPushedData_BeforeDisposing()
    {
        // A kernel TCP peer that does not read at first: the kernel's buffers fill and Demi's pushes
        // queue in the libOS. Stopping the host must wait for them instead of cancelling them.
        using var host = TestHost.Build(new Dictionary<string, string?> { ["DrainTimeout"] = "00:00:30" }, shutdownTimeout: TimeSpan.FromSeconds(30));
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = DemiTcpSocket.Create(libOS);
        await client.ConnectAsync(Ipv4Endpoint.From((IPEndPoint)listener.LocalEndPoint!));
        using var accepted = listener.Accept();
        accepted.ReceiveBufferSize = 64 * 1024;

        const int Chunk = 64 * 1024, Chunks = 128; // 8 MiB, far more than the kernel buffers hold
        var pushes = new List<Task>();
        for (int i = 0; i < Chunks; i++)
        {
            var sga = client.Allocate(Chunk);
            sga.Span.Fill((byte)i);
            pushes.Add(client.PushAsync(sga).AsTask());
            libOS.SgaFree(sga); // the push holds its own reference
        }
        Assert.True(SpinWait.SpinUntil(() => libOS.UnsentDescriptors() > 0, TestHost.Timeout), "pushes never queued");

        var stopping = host.StopAsync();
        await Task.Delay(300);
        Assert.False(stopping.IsCompleted); // waiting for the data, not discarding it

        long received = 0;
        var buffer = new byte[256 * 1024];
        int expectedByte = 0, offsetInChunk = 0;
        accepted.ReceiveTimeout = 20_000;
        while (true)
        {
            int n = accepted.Receive(buffer);
            if (n == 0)
                break;
            // Chunk i is filled with byte i: check in runs, not byte by byte (the drain is timed).
            for (int i = 0; i < n;)
            {
                int run = Math.Min(n - i, Chunk - offsetInChunk);
                if (buffer.AsSpan(i, run).IndexOfAnyExcept((byte)expectedByte) >= 0)
                    Assert.Fail($"bytes out of order in chunk {expectedByte}");
                i += run;
                offsetInChunk += run;
                if (offsetInChunk == Chunk)
                {
                    offsetInChunk = 0;
                    expectedByte++;
                }
            }
            received += n;
        }
        await stopping.WaitAsync(TestHost.Timeout);
        var failures = pushes.Where(p => p.IsFaulted).Select(p => p.Exception!.InnerException!.Message).ToArray();
        Assert.True(failures.Length == 0, $"{failures.Length} pushes failed: {failures.FirstOrDefault()}; logs: {string.Join(" | ", host.Logs().Select(l => l.Message))}");
        Assert.Equal((long)Chunk * Chunks, received); // every pushed byte, then end of stream
        Assert.True(host.Logged("Draining"));
        Assert.False(host.Logged("DrainTimedOut"));
    }

    [Fact]
    public async Task Stop_GivesUpAfterTheDrainTimeout_AndSaysSo()
    {
        using var host = TestHost.Build(new Dictionary<string, string?> { ["DrainTimeout"] = "00:00:00.300" });
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = DemiTcpSocket.Create(libOS);
        await client.ConnectAsync(Ipv4Endpoint.From((IPEndPoint)listener.LocalEndPoint!));
        using var accepted = listener.Accept(); // never reads
        for (int i = 0; i < 128; i++)
        {
            var sga = client.Allocate(64 * 1024);
            _ = client.PushAsync(sga).AsTask().ContinueWith(_ => { }, TaskScheduler.Default);
            libOS.SgaFree(sga);
        }
        Assert.True(SpinWait.SpinUntil(() => libOS.UnsentDescriptors() > 0, TestHost.Timeout));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await host.StopAsync().WaitAsync(TestHost.Timeout);
        Assert.True(host.Logged("DrainTimedOut"));
        var warning = host.Logs().Single(r => r.Id.Name == "DrainTimedOut");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.False(host.Services.GetRequiredService<DemiRuntime>().IsRunning);
    }

    [Fact]
    public async Task ShardFaults_AreLogged()
    {
        using var host = TestHost.Build(new Dictionary<string, string?>());
        await host.StartAsync();
        var libOS = host.Services.GetRequiredService<LibOS>();
        using var udp = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        using var subscription = udp.Completions.Subscribe(_ => throw new InvalidOperationException("handler bug"));
        var sga = udp.Allocate("x"u8);
        await udp.SendToAsync(sga, udp.LocalEndPoint);
        udp.Free(sga);
        Assert.True(SpinWait.SpinUntil(() => host.Logged("ShardFault"), TestHost.Timeout));
        var fault = host.Logs().First(r => r.Id.Name == "ShardFault");
        Assert.Equal(LogLevel.Error, fault.Level);
        Assert.Equal("handler bug", fault.Exception?.Message);
        await host.StopAsync();
    }
}

