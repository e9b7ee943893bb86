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
// One silo with Demi on kernel sockets over 127.0.0.1. A kernel UDP sender feeds one receiver in windows
// of 256 datagrams (it waits until the receiver has counted a window before sending the next, so nothing
// overflows and every path does the same work). Paths, side by side in one process and one run:
//   demi-grain:   the grain reads a DemiGrainUdpSocket (IAsyncEnumerable on its scheduler)
//   socket-grain: the same grain reads a .NET Socket with ReceiveAsync on its scheduler
//   demi-raw:     the same pops without a grain: 16 in flight as DemiGrainUdpSocket keeps them, each
//                 completion freed and counted where it lands (the grain-delivery overhead's baseline)
//   demi-await:   a plain loop awaiting DemiUdpSocket.ReceiveFromAsync, one receive at a time (for reference)
// Every receiver bumps one shared counter and the sender polls it (no grain call per poll, so polling
// costs every path the same). Grain-delivery overhead per datagram = 1/rate(demi-grain) - 1/rate(demi-raw),
// per round, then the range over the rounds. Each receiver is closed after its run; a run that makes no
// progress for 20 s fails loudly (it names the path, the counts and the kernel's UDP buffer drops).
int count = args.Length > 0 ? int.Parse(args[0]) : 200_000;
int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddSingleton<FeedCounter>();
builder.UseOrleans(silo => silo.UseLocalhostClustering(FreePort(), FreePort()).UseDemi(o => o.Backend = "kernel"));
using var host = builder.Build();
await host.StartAsync();
var grains = host.Services.GetRequiredService<IGrainFactory>();
var libOS = host.Services.GetRequiredService<DemiRuntime>().LibOS;
var counter = host.Services.GetRequiredService<FeedCounter>();
Console.WriteLine($"uptime: {File.ReadAllText("/proc/loadavg").Trim()}; {count} datagrams of 16 B per run, window {Feed.Window}");
Console.WriteLine("round  path          datagrams/s   ns/datagram   managed B/datagram");
var overheads = new List<double>();
var ratios = new List<double>();
for (int round = 1; round <= rounds; round++)
{
    var ns = new Dictionary<string, double>();
    foreach (var path in new[] { "demi-grain", "socket-grain", "demi-raw", "demi-await" })
    {
        var (rate, nsPer, bytesPer) = path switch
        {
            "demi-raw" => await Feed.RawAsync(libOS, counter, count),
            "demi-await" => await Feed.AwaitLoopAsync(libOS, counter, count),
            _ => await Feed.GrainAsync(grains, counter, path, count, round),
        };
        ns[path] = nsPer;
        Console.WriteLine($"{round,5}  {path,-12} {rate,12:N0} {nsPer,13:N0} {bytesPer,20:N1}");
    }
    double overhead = ns["demi-grain"] - ns["demi-raw"]; // = 1/grain rate - 1/raw rate
    overheads.Add(overhead);
    ratios.Add(ns["socket-grain"] / ns["demi-grain"]);
    Console.WriteLine($"{round,5}  grain-delivery overhead {overhead,8:N0} ns/datagram; demi-grain/socket-grain rate {ratios[^1]:N2}x");
}
Console.WriteLine($"grain-delivery overhead over {rounds} rounds: {overheads.Min():N0}..{overheads.Max():N0} ns/datagram; " +
                  $"demi-grain/socket-grain {ratios.Min():N2}..{ratios.Max():N2}x; uptime after: {File.ReadAllText("/proc/loadavg").Trim()}");
await host.StopAsync();

static int FreePort()
{
    using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)probe.LocalEndPoint!).Port;
}

/// <summary>What a receiver has counted; the sender polls it.</summary>
public sealed class FeedCounter
{
    private long _value;

    public long Value => Interlocked.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Reset() => Interlocked.Exchange(ref _value, 0);
}

internal static class Feed
{
    public const int Window = 256;
    private const int Prefetch = 16; // DemiGrainSockets.OpenUdp's default: pops kept in flight

    // No progress for this long fails the run (a lost datagram, a dead receive loop) instead of hanging.
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(20);

    public static async Task<(double, double, double)> GrainAsync(IGrainFactory grains, FeedCounter counter, string path, int count, int round)
    {
        var grain = grains.GetGrain<IFeedGrain>($"{path}-{round}");
        counter.Reset();
        ushort port = await grain.Open(path == "demi-grain");
        try
        {
            return await RunAsync(path, port, count, counter, () => null);
        }
        finally
        {
            await grain.Close(); // closes the socket, ends the loop and deactivates: nothing of this run stays behind
        }
    }

    /// <summary>Pops as the grain socket does (PostPop, completions observed where they land), minus the channel and the grain.</summary>
    public static async Task<(double, double, double)> RawAsync(LibOS libOS, FeedCounter counter, int count)
    {
        counter.Reset();
        var udp = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        var loop = new RawPopLoop(libOS, udp.Qd, counter);
        using (udp.Completions.Subscribe(loop))
        {
            for (int i = 0; i < Prefetch; i++)
                libOS.PostPop(udp.Qd);
            try
            {
                return await RunAsync("demi-raw", udp.LocalEndPoint.Port, count, counter, () => loop.Failure);
            }
            finally
            {
                udp.Dispose(); // the pops in flight end with ECANCELED
            }
        }
    }

    /// <summary>A plain loop of awaited receives, one at a time, on the thread pool.</summary>
    public static async Task<(double, double, double)> AwaitLoopAsync(LibOS libOS, FeedCounter counter, int count)
    {
        counter.Reset();
        var udp = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        bool closing = false;
        // No cancellation token: a cancellable receive takes another path (and allocates); closing the
        // socket ends the pending receive with ECANCELED instead.
        var loop = Task.Run(async () =>
        {
            while (true)
            {
                Sga data;
                try
                {
                    (data, _) = await udp.ReceiveFromAsync();
                }
                catch (DemiException e) when (e.ErrorCode == Errno.ECANCELED && Volatile.Read(ref closing))
                {
                    return;
                }
                udp.Free(data);
                counter.Increment();
            }
        });
        try
        {
            // A loop that ended early says why rather than leaving the sender waiting for a count that will not come.
            return await RunAsync("demi-await", udp.LocalEndPoint.Port, count, counter,
                () => loop.IsCompleted ? loop.Exception ?? new Exception("the receive loop ended") : null);
        }
        finally
        {
            Volatile.Write(ref closing, true);
            udp.Dispose();
            await loop.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    // Sends a warm-up window, then exactly count datagrams in windows, each window only once the receiver
    // has counted the previous one. (The last window is partial: a receiver that stops at the count it was
    // told must still see every datagram it waits for.)
    private static async Task<(double, double, double)> RunAsync(string path, ushort port, int count, FeedCounter counter, Func<Exception?> failure)
    {
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var payload = new byte[16];
        long kernelDropsBefore = UdpReceiveBufferErrors();
        for (int i = 0; i < Window; i++)
            sender.Send(payload);
        await WaitForAsync(path, Window, counter, failure, kernelDropsBefore);
        long start = Stopwatch.GetTimestamp(), allocated = GC.GetTotalAllocatedBytes(precise: true);
        int sent = Window, total = Window + count;
        while (sent < total)
        {
            for (int window = Math.Min(Window, total - sent); window > 0; window--, sent++)
                sender.Send(payload);
            await WaitForAsync(path, sent, counter, failure, kernelDropsBefore);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        if (counter.Value != total)
            throw new InvalidOperationException($"{path}: counted {counter.Value} datagrams, sent {total}");
        return (count / seconds, seconds * 1e9 / count, (double)bytes / count);
    }

    private static async Task WaitForAsync(string path, long sent, FeedCounter counter, Func<Exception?> failure, long kernelDropsBefore)
    {
        long last = -1, progressAt = Stopwatch.GetTimestamp();
        long now;
        while ((now = counter.Value) < sent)
        {
            if (failure() is { } error)
                throw new InvalidOperationException($"{path}: the receiver failed after {now} of {sent} datagrams", error);
            if (now != last)
            {
                last = now;
                progressAt = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(progressAt) > StallLimit)
            {
                throw new TimeoutException($"{path}: {now} of {sent} datagrams counted, no progress for {StallLimit.TotalSeconds} s " +
                                           $"(kernel UDP receive-buffer drops since the run began: {UdpReceiveBufferErrors() - kernelDropsBefore})");
            }
            await Task.Yield();
        }
    }

    // Udp RcvbufErrors from /proc/net/snmp: datagrams the kernel dropped because a receive buffer was full.
    private static long UdpReceiveBufferErrors()
    {
        var lines = File.ReadAllLines("/proc/net/snmp").Where(l => l.StartsWith("Udp: ", StringComparison.Ordinal)).ToArray();
        int column = Array.IndexOf(lines[0].Split(' '), "RcvbufErrors");
        return long.Parse(lines[1].Split(' ')[column]);
    }
}

/// <summary>Frees and counts each popped datagram on the thread its completion lands on, and pops again.</summary>
internal sealed class RawPopLoop(LibOS libOS, int qd, FeedCounter counter) : IObserver<QResult>
{
    private volatile Exception? _failure;

    public Exception? Failure => _failure;

    public void OnNext(QResult result)
    {
        if (result.Opcode == Opcode.Pop)
        {
            libOS.SgaFree(result.Sga);
            counter.Increment();
            libOS.PostPop(qd);
        }
        else if (result.Opcode == Opcode.Failed && result.Error != Errno.ECANCELED)
        {
            _failure = new DemiException(result.Error, "pop", qd, null);
        }
    }

    public void OnError(Exception error) => _failure = error;

    public void OnCompleted()
    {
    }
}

public interface IFeedGrain : IGrainWithStringKey
{
    Task<ushort> Open(bool demi);

    /// <summary>Closes the socket, waits for the receive loop to end and deactivates.</summary>
    Task Close();
}

public sealed class FeedGrain(DemiGrainSockets sockets, FeedCounter counter) : Grain, IFeedGrain
{
    private Task? _loop;
    private IDisposable? _socket;

    public Task<ushort> Open(bool demi)
    {
        if (demi)
        {
            var udp = sockets.OpenUdp(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
            _socket = udp;
            _loop = DemiLoopAsync(udp);
            return Task.FromResult(udp.LocalEndPoint.Port);
        }
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _socket = socket;
        _loop = SocketLoopAsync(socket);
        return Task.FromResult((ushort)((IPEndPoint)socket.LocalEndPoint!).Port);
    }

    private async Task DemiLoopAsync(DemiGrainUdpSocket udp)
    {
        await foreach (var datagram in udp.ReceiveAllAsync())
        {
            datagram.Dispose();
            counter.Increment();
        }
    }

    private async Task SocketLoopAsync(Socket socket)
    {
        var buffer = new byte[2048];
        while (true)
        {
            try
            {
                await socket.ReceiveAsync(buffer, SocketFlags.None);
            }
            catch (Exception e) when (e is ObjectDisposedException or SocketException { SocketErrorCode: SocketError.OperationAborted })
            {
                return; // closed by Close()
            }
            counter.Increment();
        }
    }

    public async Task Close()
    {
        _socket?.Dispose();
        if (_loop is not null)
            await _loop.WaitAsync(TimeSpan.FromSeconds(10));
        DeactivateOnIdle();
    }
}
