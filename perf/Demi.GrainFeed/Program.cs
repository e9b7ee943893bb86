using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Demi;
using Demi.Async;
using Demi.Hosting;
using Demi.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Hosting;

// Usage: dotnet run --project perf/Demi.GrainFeed -c Release -- [count=200000] [rounds=3]
// One silo with Demi on kernel sockets over 127.0.0.1. A kernel UDP sender feeds one grain in windows
// of 256 datagrams (it waits until the grain has counted a window before sending the next, so nothing
// overflows and both paths do the same work). Paths, side by side in one process and one run:
//   demi-grain:   the grain reads a DemiGrainUdpSocket (IAsyncEnumerable on its scheduler)
//   socket-grain: the same grain reads a .NET Socket with ReceiveAsync on its scheduler
//   demi-raw:     DemiUdpSocket.ReceiveFromAsync outside any grain (the delivery overhead's baseline)
int count = args.Length > 0 ? int.Parse(args[0]) : 200_000;
int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleans(silo => silo.UseLocalhostClustering(FreePort(), FreePort()).UseDemi(o => o.Backend = "kernel"));
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var libOS = host.Services.GetRequiredService<DemiRuntime>().LibOS;
Console.WriteLine($"uptime: {File.ReadAllText("/proc/loadavg").Trim()}; {count} datagrams of 16 B per run, window 256");
Console.WriteLine("round  path          datagrams/s   ns/datagram   managed B/datagram");
for (int round = 1; round <= rounds; round++)
{
    foreach (var path in new[] { "demi-grain", "socket-grain", "demi-raw" })
    {
        var (rate, nsPer, bytesPer) = path == "demi-raw" ? await RawAsync(libOS, count) : await GrainAsync(grains, path, count, round);
        Console.WriteLine($"{round,5}  {path,-12} {rate,12:N0} {nsPer,13:N0} {bytesPer,20:N1}");
    }
}
await host.StopAsync();

static async Task<(double, double, double)> GrainAsync(IGrainFactory grains, string path, int count, int round)
{
    var grain = grains.GetGrain<IFeedGrain>($"{path}-{round}");
    ushort port = await grain.Open(path == "demi-grain");
    return await FeedAsync(port, count, () => grain.Count());
}

static async Task<(double, double, double)> RawAsync(LibOS libOS, int count)
{
    using var udp = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
    long received = 0;
    var loop = Task.Run(async () =>
    {
        while (Interlocked.Read(ref received) < count + 256) // the warm-up window too
        {
            var (data, _) = await udp.ReceiveFromAsync();
            udp.Free(data);
            Interlocked.Increment(ref received);
        }
    });
    var result = await FeedAsync(udp.LocalEndPoint.Port, count, () => Task.FromResult(Interlocked.Read(ref received)));
    await loop;
    return result;
}

static async Task<(double, double, double)> FeedAsync(ushort port, int count, Func<Task<long>> counted)
{
    const int Window = 256;
    using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    sender.Connect(new IPEndPoint(IPAddress.Loopback, port));
    var payload = new byte[16];
    // Warm-up window.
    for (int i = 0; i < Window; i++)
        sender.Send(payload);
    while (await counted() < Window)
        await Task.Yield();
    long start = Stopwatch.GetTimestamp(), allocated = GC.GetTotalAllocatedBytes(precise: true);
    int sent = Window;
    while (sent < Window + count)
    {
        for (int i = 0; i < Window; i++, sent++)
            sender.Send(payload);
        while (await counted() < sent)
            await Task.Yield();
    }
    double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
    long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
    return (count / seconds, seconds * 1e9 / count, (double)bytes / count);
}

static int FreePort()
{
    using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)probe.LocalEndPoint!).Port;
}

public interface IFeedGrain : IGrainWithStringKey
{
    Task<ushort> Open(bool demi);

    Task<long> Count();
}

public sealed class FeedGrain(DemiGrainSockets sockets) : Grain, IFeedGrain
{
    private long _count;
    private Task? _loop;

    public Task<ushort> Open(bool demi)
    {
        if (demi)
        {
            var udp = sockets.OpenUdp(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
            _loop = DemiLoopAsync(udp);
            return Task.FromResult(udp.LocalEndPoint.Port);
        }
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _loop = SocketLoopAsync(socket);
        return Task.FromResult((ushort)((IPEndPoint)socket.LocalEndPoint!).Port);
    }

    private async Task DemiLoopAsync(DemiGrainUdpSocket udp)
    {
        await foreach (var datagram in udp.ReceiveAllAsync())
        {
            datagram.Dispose();
            _count++;
        }
    }

    private async Task SocketLoopAsync(Socket socket)
    {
        var buffer = new byte[2048];
        while (true)
        {
            await socket.ReceiveAsync(buffer, SocketFlags.None);
            _count++;
        }
    }

    public Task<long> Count() => Task.FromResult(_count);
}
