using System.Globalization;
using System.Text;
using System.Text.Json;
using Demi.Transport.Xdp;

namespace Demi.Perf.Internal;

/// <summary>
/// The scaling benchmark (<c>Demi.Perf scaling</c>): Demi-XDP on a 2-queue veth served by 1 shard (both
/// queues drained by one shard, no steering) and by 2 shards (one queue each, software steering), side by
/// side in one run and repeated. Scenarios: UDP echo 64 B from the AF_XDP generator (open loop; every
/// frame lands on queue 0, so with 2 shards the echo socket's shard gets them all through steering: the
/// worst case for steering; the figure is the server's echoes per second, since echoes sent from shard
/// 1 leave on queue 1, which the generator does not read) and TCP 64 B request/response over many
/// kernel connections (spread over both queues by the kernel; a listener on every shard; the figure is
/// the client's transactions per second), and UDP 64 B request/response over as many kernel sockets to a
/// port served by a SO_REUSEPORT socket per shard (spread over both queues like TCP; nothing to steer).
/// Per figure: messages/s, the server process's CPU-seconds per
/// million messages (from /proc/PID/stat over the measured window), steered frames/s (the server's
/// FlowSteering counters). A third scenario paces the same UDP generator at a rate both configurations
/// serve without loss (<c>--paced-rate</c>), so that CPU per message is compared at equal load: at the
/// generator's maximum one shard is saturated while two are mostly idle, and an idle shard's spinning
/// and parking then count against two shards.
/// </summary>
internal sealed class ScalingRunner(PerfOptions o, int runs, int connections, int pacedRate)
{
    private const int UdpPort = 7, TcpPort = 7001, SinkPort = 7002, UdpGroupPort = 7003, GenPort = 9000;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private VethNamespaces _net = null!;
    private string _xdpPerf = "", _tcpPerf = "", _tmp = "";

    private sealed record Row(int Run, string Scenario, int Shards, double MsgPerSecond, double CpuSecondsPerMillion, double SteeredPerSecond, double WakeupsPerSecond, double ServerCores,
        double RingDropsPerSecond = 0, double ParksPerSecond = 0, double KernelDropsPerSecond = 0, double FillRingEmptyPerSecond = 0);

    public int Run()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            throw new PerfException($"cannot run: {reason}");
        (_xdpPerf, _tcpPerf) = NativeTools.Build();
        _tmp = Directory.CreateTempSubdirectory("demi-scaling-").FullName;
        var started = DateTimeOffset.Now;
        var rows = new List<Row>();
        using (_net = VethNamespaces.Create(new VethOptions { KernelAddressOnA = true, QueueCount = 2 }))
        {
            _net.AddNeighbor(VethSide.A, _net.AddressB, _net.MacB);
            _net.AddNeighbor(VethSide.B, _net.AddressA, _net.MacA);
            for (int run = 1; run <= runs; run++)
            {
                foreach (int shards in new[] { 1, 2 })
                {
                    using var server = StartServer(shards);
                    string[] udpGen =
                    [
                        "gen", _net.InterfaceB, "--src-mac", _net.MacB.ToString(), "--dst-mac", _net.MacA.ToString(),
                        "--src-ip", _net.AddressB, "--dst-ip", _net.AddressA, "--sport", $"{GenPort}", "--dport", $"{UdpPort}",
                        "--size", "64", "--mode", "tput", "--seconds", S(o.Seconds), "--warmup", S(o.Warmup),
                    ];
                    WarmServer(shards, udpGen);
                    Console.Error.WriteLine($"run {run}/{runs}: {shards} shard(s), udp");
                    rows.Add(Measure(run, "udp-64-echo", shards, server, _xdpPerf, udpGen, null));
                    if (pacedRate > 0)
                    {
                        Console.Error.WriteLine($"run {run}/{runs}: {shards} shard(s), udp paced at {pacedRate} msg/s");
                        rows.Add(Measure(run, $"udp-64-paced-{pacedRate / 1000}k", shards, server, _xdpPerf,
                            [.. udpGen, "--rate", pacedRate.ToString(Inv)], null));
                    }
                    Console.Error.WriteLine($"run {run}/{runs}: {shards} shard(s), tcp");
                    rows.Add(Measure(run, $"tcp-rr-{connections}", shards, server, _tcpPerf,
                        ["rr", _net.AddressA, $"{TcpPort}", connections.ToString(Inv), "64", S(o.Seconds), S(o.Warmup), Path.Combine(_tmp, "rr.bin")],
                        r => r.GetProperty("tps").GetDouble()));
                    Console.Error.WriteLine($"run {run}/{runs}: {shards} shard(s), udp request/response");
                    rows.Add(Measure(run, $"udp-rr-{connections}", shards, server, _tcpPerf, UdpRr(o.Seconds, o.Warmup, "udprr.bin"),
                        r => r.GetProperty("tps").GetDouble()));
                    server.Stop(TimeSpan.FromSeconds(3));
                }
            }
        }
        Directory.Delete(_tmp, recursive: true);
        string md = Markdown(started, rows);
        string dir = Path.Combine(o.ResultsDir, "scaling-" + started.ToString("yyyyMMdd-HHmmss", Inv));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.md"), md);
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true }));
        Console.Out.WriteLine(md);
        Console.Out.WriteLine($"results: {Path.GetFullPath(dir)}");
        return 0;
    }

    private static string S(double v) => v.ToString(Inv);

    // Kernel UDP sockets in the peer namespace, one 64 B request each in flight, to the port the server
    // serves with a SO_REUSEPORT socket per shard: the kernel spreads the sockets over both queues.
    private string[] UdpRr(double seconds, double warmup, string samples)
        => ["udprr", _net.AddressA, $"{UdpGroupPort}", connections.ToString(Inv), "64", S(seconds), S(warmup), Path.Combine(_tmp, samples)];

    /// <summary>
    /// Unmeasured UDP and TCP load on a freshly started server (<see cref="PerfOptions.ServerWarmup"/>),
    /// so that no measured window includes the tiered JIT's work: the process's CPU time is the
    /// figure here, and it would count the compiler's thread too.
    /// </summary>
    private void WarmServer(int shards, string[] udpGen)
    {
        if (o.ServerWarmup <= 0)
            return;
        Console.Error.WriteLine($"{shards} shard(s): warming up ({o.ServerWarmup:0.#} s, not measured)");
        string half = S(o.ServerWarmup / 2);
        string[] udp = [.. udpGen];
        udp[Array.IndexOf(udp, "--seconds") + 1] = half;
        udp[Array.IndexOf(udp, "--warmup") + 1] = "0";
        foreach (var (tool, args) in new[]
        {
            (_xdpPerf, udp),
            (_tcpPerf, new[] { "rr", _net.AddressA, $"{TcpPort}", connections.ToString(Inv), "64", half, "0", Path.Combine(_tmp, "warm.bin") }),
            (_tcpPerf, UdpRr(o.ServerWarmup / 2, 0, "warm-udp.bin")),
        })
        {
            using var gen = new NsProcess(_net.NamespaceB, o.LoadCore, tool, args);
            gen.WaitExit(TimeSpan.FromSeconds(o.ServerWarmup + 30));
        }
    }

    private NsProcess StartServer(int shards)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        string[] prefix = Path.GetFileNameWithoutExtension(host) == "dotnet" ? [typeof(Program).Assembly.Location] : [];
        string cores = shards == 1 ? o.ServerCore.ToString(Inv) : "0-1";
        var p = new NsProcess(_net.NamespaceA, cores, host,
            [.. prefix, "serve", "demi-xdp", _net.AddressA, $"{UdpPort}", $"{TcpPort}", $"{SinkPort}", "600"],
            new Dictionary<string, string>
            {
                ["DEMI_PERF_CORES"] = cores,
                ["DEMI_PERF_QUEUES"] = "2",
                ["DEMI_PERF_SHARDS"] = shards.ToString(Inv),
                ["DEMI_PERF_UDP_GROUP_PORT"] = UdpGroupPort.ToString(Inv),
                ["DEMI_PERF_IFACE"] = _net.InterfaceA,
                ["DEMI_PERF_SHARD_IDLE"] = o.ShardIdle,
                ["DEMI_PERF_PEER_IP"] = _net.AddressB,
                ["DEMI_PERF_PEER_MAC"] = _net.MacB.ToString(),
                ["DOTNET_gcServer"] = "0",
                ["DOTNET_TieredPGO"] = "1",
            });
        p.WaitFirstLine(TimeSpan.FromSeconds(30));
        return p;
    }

    /// <summary>Runs the load generator; the rate is <paramref name="rate"/> of its result, or (null) the server's UDP echoes per second.</summary>
    private Row Measure(int run, string scenario, int shards, NsProcess server, string tool, string[] args, Func<JsonElement, double>? rate)
    {
        using var gen = new NsProcess(_net.NamespaceB, o.LoadCore, tool, args);
        Thread.Sleep(TimeSpan.FromSeconds(o.Warmup + 0.2));
        long cpu0 = CpuSampler.ProcessTicks(server.Pid);
        var (steered0, wakeups0, echoes0, drops0, parks0, kernel0, fill0) = LastSteer(server);
        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        Thread.Sleep(TimeSpan.FromSeconds(o.Seconds - 0.4));
        long cpu1 = CpuSampler.ProcessTicks(server.Pid);
        var (steered1, wakeups1, echoes1, drops1, parks1, kernel1, fill1) = LastSteer(server);
        double window = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds;
        gen.WaitExit(TimeSpan.FromSeconds(o.Seconds + o.Warmup + 30));
        var line = gen.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith('{'))
            ?? throw new PerfException($"{Path.GetFileName(tool)} printed no result:\n{gen.StandardError}");
        double msgs = rate is null ? (echoes1 - echoes0) / window : rate(JsonDocument.Parse(line).RootElement);
        double cpuSeconds = (cpu1 - cpu0) / CpuSampler.TicksPerSecond;
        return new Row(run, scenario, shards, msgs,
            msgs > 0 ? cpuSeconds / window / msgs * 1e6 : double.NaN,
            (steered1 - steered0) / window, (wakeups1 - wakeups0) / window, cpuSeconds / window,
            (drops1 - drops0) / window, (parks1 - parks0) / window, (kernel1 - kernel0) / window, (fill1 - fill0) / window);
    }

    /// <summary>The server's last "STEER forwarded wakeups udp-echoes ring-full-drops parks kernel-rx-drops fill-ring-empty" line.</summary>
    private static (long Forwarded, long Wakeups, long Echoes, long RingDrops, long Parks, long KernelDrops, long FillEmpty) LastSteer(NsProcess server)
    {
        var last = server.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith("STEER ", StringComparison.Ordinal))
            ?? throw new PerfException("the server reports no counters");
        var f = last.Trim().Split(' ');
        return (long.Parse(f[1], Inv), long.Parse(f[2], Inv), long.Parse(f[3], Inv), long.Parse(f[4], Inv), long.Parse(f[5], Inv),
            long.Parse(f[6], Inv), long.Parse(f[7], Inv));
    }


    private string Markdown(DateTimeOffset started, List<Row> rows)
    {
        var sb = new StringBuilder();
        string load = File.ReadAllText("/proc/loadavg").Trim();
        sb.AppendLine(Inv, $"Scaling run {started:yyyy-MM-dd HH:mm zzz}, {runs} run(s) × {o.Seconds} s per figure after {o.Warmup} s warm-up, each server first warmed up unmeasured for {o.ServerWarmup} s; Demi-XDP on a 2-queue veth; load average at the end: {load}.");
        sb.AppendLine();
        sb.AppendLine("| run | scenario | shards | msg/s | server CPU-s per M msg | server cores busy | steered frames/s | steered per msg | wake-ups/s | parks/s | ring-full drops/s | kernel RX drops/s | of which fill ring empty/s |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine(Inv, $"| {r.Run} | {r.Scenario} | {r.Shards} | {r.MsgPerSecond / 1000:F1} k | {r.CpuSecondsPerMillion:F2} | {r.ServerCores:F2} | {r.SteeredPerSecond / 1000:F1} k | {(r.MsgPerSecond > 0 ? r.SteeredPerSecond / r.MsgPerSecond : 0):F2} | {r.WakeupsPerSecond:F0} | {r.ParksPerSecond:F0} | {r.RingDropsPerSecond:F0} | {r.KernelDropsPerSecond:F0} | {r.FillRingEmptyPerSecond:F0} |");
        sb.AppendLine();
        sb.AppendLine("| scenario | CPU per msg, 2 shards / 1 shard (per run) | median | msg/s 2 / 1 (median) | cost per steered frame (µs, median) |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var scenario in rows.Select(r => r.Scenario).Distinct())
        {
            var ratios = new List<double>();
            var tputRatios = new List<double>();
            var steerCosts = new List<double>();
            for (int run = 1; run <= runs; run++)
            {
                var one = rows.FirstOrDefault(r => r.Run == run && r.Scenario == scenario && r.Shards == 1);
                var two = rows.FirstOrDefault(r => r.Run == run && r.Scenario == scenario && r.Shards == 2);
                if (one is null || two is null || one.MsgPerSecond <= 0 || two.MsgPerSecond <= 0)
                    continue;
                ratios.Add(two.CpuSecondsPerMillion / one.CpuSecondsPerMillion);
                tputRatios.Add(two.MsgPerSecond / one.MsgPerSecond);
                double steeredPerMsg = two.SteeredPerSecond / two.MsgPerSecond;
                // The extra CPU per message at 2 shards, charged to its steered frames (an upper bound on the steering cost).
                if (steeredPerMsg > 0.01)
                    steerCosts.Add((two.CpuSecondsPerMillion - one.CpuSecondsPerMillion) / steeredPerMsg);
            }
            string steerCost = steerCosts.Count == 0 ? "n/a (nothing steered)"
                : Median(steerCosts) <= 0 ? "n/a (2 shards cost less per message)"
                : Median(steerCosts).ToString("F2", Inv);
            sb.AppendLine(Inv, $"| {scenario} | {string.Join(" / ", ratios.Select(x => x.ToString("F3", Inv)))} | {Median(ratios):F3} | {Median(tputRatios):F2} | {steerCost} |");
        }
        return sb.ToString();
    }

    /// <summary>The median of <paramref name="xs"/> (NaN when empty); the paired report uses it too.</summary>
    internal static double Median(IReadOnlyCollection<double> xs)
    {
        if (xs.Count == 0)
            return double.NaN;
        var s = xs.OrderBy(x => x).ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}
