using System.Globalization;
using System.Text.Json;
using Demi.Transport.Xdp;

namespace Demi.Perf.Internal;

/// <summary>
/// Runs every scenario on every backend: server in namespace A pinned to the server core, load
/// generator in namespace B pinned to the other core, both joined only by a veth pair (nothing is
/// sent from the root namespace). Collects <see cref="Figure"/>s and writes the reports.
/// </summary>
internal sealed class Runner(PerfOptions o)
{
    private const int UdpPort = 7, TcpPort = 7001, SinkPort = 7002, GenPort = 9000;
    private static readonly int[] UdpSizes = [64, 1400];
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private readonly List<Figure> _figures = new();
    private readonly Dictionary<string, string> _unavailable = new();
    private VethNamespaces _net = null!;
    private string _xdpPerf = "", _tcpPerf = "", _tmp = "";
    private Progress _progress = null!;
    private CpuSampler _cpu = null!;

    public int Run()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            throw new PerfException($"cannot run: {reason}");
        if (o.ServerCore == o.LoadCore || o.ServerCore >= Environment.ProcessorCount || o.LoadCore >= Environment.ProcessorCount)
            throw new PerfException($"server core {o.ServerCore} and load core {o.LoadCore} must be distinct cores of {Environment.ProcessorCount}");
        (_xdpPerf, _tcpPerf) = NativeTools.Build();
        var backends = SelectBackends();
        bool udp = o.Groups.Count == 0 || o.Groups.Contains("udp"), tcp = o.Groups.Count == 0 || o.Groups.Contains("tcp");
        bool overload = o.Groups.Contains("overload"), paired = o.Groups.Contains("paired");
        int warm = o.ServerWarmup > 0 ? 1 : 0;
        int steps = backends.Sum(b => (udp ? warm + UdpSizes.Length * 2 : 0) + (tcp && HasTcp(b) ? warm + 3 : 0) + (overload ? warm + 1 + OverloadPhases : 0))
            + (paired ? o.Rounds * backends.Count * (warm + UdpSizes.Length) : 0);
        _progress = new Progress(steps);
        _cpu = new CpuSampler(o.ServerCore, o.LoadCore);
        _tmp = Directory.CreateTempSubdirectory("demi-perf-").FullName;
        var started = DateTimeOffset.Now;
        // The kernel of A owns A's address too (for the kernel-socket servers); while an AF_XDP socket
        // is bound on A's only queue it takes every frame, so the kernel never sees that traffic.
        using (_net = VethNamespaces.Create(new VethOptions { KernelAddressOnA = true, Mtu = o.Mtu }))
        {
            _net.AddNeighbor(VethSide.A, _net.AddressB, _net.MacB);
            _net.AddNeighbor(VethSide.B, _net.AddressA, _net.MacA);
            foreach (var b in backends)
            {
                // net_af_packet shares the link with A's kernel, which would answer the same packets
                // (ICMP port unreachable, TCP RST): A's kernel loses its address while DPDK serves.
                using var _ = IsDpdk(b) ? KernelAddressOffOnA() : null;
                if (udp)
                    RunUdp(b);
                if (overload)
                    RunOverload(b);
                if (tcp && HasTcp(b))
                    RunTcp(b);
            }
            if (paired)
                RunPaired(backends);
        }
        _progress.Done();
        Directory.Delete(_tmp, recursive: true);
        string dir = Path.Combine(o.ResultsDir, started.ToString("yyyyMMdd-HHmmss", Inv) + (o.Quick ? "-quick" : ""));
        var report = new Report(started, o, _figures, _unavailable);
        report.Write(dir);
        Console.Out.WriteLine(report.Markdown());
        Console.Out.WriteLine($"results: {Path.GetFullPath(dir)}");
        return 0;
    }

    private List<BackendKind> SelectBackends()
    {
        var all = new List<BackendKind> { BackendKind.CXdp, BackendKind.DotnetKernel, BackendKind.DemiKernel, BackendKind.DemiXdp, BackendKind.DemiDpdk, BackendKind.DpdkTestpmd };
        var chosen = o.Backends.Count == 0 ? all : all.Where(b => o.Backends.Contains(Name(b))).ToList();
        return chosen.Where(b => !_unavailable.ContainsKey(Name(b))).ToList();
    }

    public static string Name(BackendKind b) => b switch
    {
        BackendKind.CXdp => "c-xdp",
        BackendKind.DotnetKernel => "dotnet-kernel",
        BackendKind.DemiKernel => "demi-kernel",
        BackendKind.DemiDpdk => "demi-dpdk",
        BackendKind.DpdkTestpmd => "dpdk-testpmd",
        _ => "demi-xdp",
    };

    private static bool IsDpdk(BackendKind b) => b is BackendKind.DemiDpdk or BackendKind.DpdkTestpmd;

    // testpmd's 5tswap echoes UDP; it has no TCP.
    private static bool HasTcp(BackendKind b) => b != BackendKind.DpdkTestpmd;

    private IDisposable KernelAddressOffOnA()
    {
        string address = $"{_net.AddressA}/{_net.Options.PrefixLength}";
        _net.Run(VethSide.A, "ip", "addr", "del", address, "dev", _net.InterfaceA).EnsureSuccess("ip addr del");
        return new Restore(() => _net.Run(VethSide.A, "ip", "addr", "add", address, "dev", _net.InterfaceA));
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    // The same EAL arguments as Demi's DpdkOptions defaults, the same vdev; main lcore on the load core
    // (it only waits for stdin), the one forwarding lcore on the server core. Line-buffered, so the
    // "Press enter to exit" that says it is forwarding reaches the pipe at once.
    private NsProcess StartTestpmd()
    {
        string script = string.Join(' ',
            "stdbuf", "-oL", "dpdk-testpmd", "-l", $"{o.LoadCore},{o.ServerCore}", "--main-lcore", $"{o.LoadCore}", "--no-huge", "--no-shconf", "-m", "256",
            "--no-pci", "--iova-mode=va", "--no-telemetry", $"--file-prefix=demi-testpmd-{Environment.ProcessId}",
            $"--vdev=net_af_packet0,iface={_net.InterfaceA}{Environment.GetEnvironmentVariable("DEMI_PERF_AF_PACKET_ARGS")}", "--", "--forward-mode=5tswap", "--nb-cores=1", "--rxq=1", "--txq=1", "--total-num-mbufs=8192")
            + " 2>&1 | { grep -m1 -q 'Press enter to exit' && echo READY; cat >/dev/null; }";
        var p = new NsProcess(_net.NamespaceA, o.ServerCore, "/bin/sh", ["-c", script]);
        p.WaitFirstLine(TimeSpan.FromSeconds(30));
        return p;
    }

    // ------------------------------------------------------------------ servers

    private NsProcess StartServer(BackendKind b, bool udpPhase)
    {
        NsProcess p;
        if (b == BackendKind.DpdkTestpmd)
            return StartTestpmd();
        if (b == BackendKind.CXdp)
        {
            p = udpPhase
                ? new NsProcess(_net.NamespaceA, o.ServerCore, _xdpPerf, ["echo", _net.InterfaceA, "--ip", _net.AddressA, "--seconds", "600"])
                : new NsProcess(_net.NamespaceA, o.ServerCore, _tcpPerf, ["server", _net.AddressA, $"{TcpPort}", $"{SinkPort}", "--seconds", "600"]);
        }
        else
        {
            var (file, prefix) = SelfCommand();
            p = new NsProcess(_net.NamespaceA, o.ServerCore, file,
                [.. prefix, "serve", Name(b), _net.AddressA, $"{UdpPort}", $"{TcpPort}", $"{SinkPort}", "600"],
                new Dictionary<string, string>
                {
                    ["DEMI_PERF_CORES"] = o.ServerCore.ToString(Inv),
                    ["DEMI_PERF_IFACE"] = _net.InterfaceA,
                    ["DEMI_PERF_MTU"] = o.Mtu.ToString(Inv),
                    // DPDK queues have no wait fd, so a parked shard naps (10 µs to 1 ms): the poll-mode backend spins, as testpmd does.
                    ["DEMI_PERF_SHARD_IDLE"] = b == BackendKind.DemiDpdk ? "spin" : o.ShardIdle,
                    ["DEMI_PERF_WAIT_IDLE"] = o.WaitIdle,
                    ["DEMI_PERF_PEER_IP"] = _net.AddressB,
                    ["DEMI_PERF_PEER_MAC"] = _net.MacB.ToString(),
                    ["DOTNET_gcServer"] = "0",
                    ["DOTNET_TieredPGO"] = "1",
                });
        }
        p.WaitFirstLine(TimeSpan.FromSeconds(30));
        return p;
    }

    private static (string File, string[] Prefix) SelfCommand()
    {
        string host = Environment.ProcessPath ?? "dotnet";
        return Path.GetFileNameWithoutExtension(host) == "dotnet"
            ? (host, [typeof(Program).Assembly.Location])
            : (host, []);
    }

    // ------------------------------------------------------------------ UDP

    private void RunUdp(BackendKind b)
    {
        string name = Name(b);
        if (!TryStartServer(b, udpPhase: true, [.. UdpSizes.SelectMany(size => new[] { $"udp-{size}-tput", $"udp-{size}-lat" })], out var server))
            return;
        using (server)
        {
            WarmUdpServer(name);
            foreach (var size in UdpSizes)
            {
                _progress.Step($"udp-{size}-tput on {name}");
                Guard($"udp-{size}-tput", name, () => UdpThroughput(name, size));
                _progress.Step($"udp-{size}-lat on {name}");
                Guard($"udp-{size}-lat", name, () => UdpLatency(name, size));
            }
            server.Stop(TimeSpan.FromSeconds(3));
            NoteServerAllocation(server, name);
            NoteDpdkBursts(server, name, "");
        }
    }

    /// <summary>
    /// UDP throughput, backend after backend, <see cref="PerfOptions.Rounds"/> times: each figure is
    /// "udp-SIZE-tput rN", so every ratio of the report compares figures taken within one round, seconds
    /// apart. This VM's speed drifts by up to 1.7× over minutes (the same C echo), which a whole run's
    /// backend-by-backend order turns into ratio noise.
    /// </summary>
    private void RunPaired(List<BackendKind> backends)
    {
        for (int round = 1; round <= o.Rounds; round++)
        {
            foreach (var b in backends)
            {
                string name = Name(b);
                string suffix = string.Create(Inv, $" r{round}");
                using var _ = IsDpdk(b) ? KernelAddressOffOnA() : null;
                if (!TryStartServer(b, udpPhase: true, [.. UdpSizes.Select(size => $"udp-{size}-tput{suffix}")], out var server))
                    continue;
                using (server)
                {
                    WarmUdpServer(name);
                    foreach (var size in UdpSizes)
                    {
                        _progress.Step($"udp-{size}-tput on {name}, round {round}");
                        Guard($"udp-{size}-tput{suffix}", name, () => UdpThroughput(name, size, suffix));
                    }
                    server.Stop(TimeSpan.FromSeconds(3));
                    NoteDpdkBursts(server, name, suffix);
                }
            }
        }
    }

    // The overload sweep paces the generator from OverloadStart × the echo rate at its maximum upwards,
    // OverloadStep × per phase, until the server stops echoing (almost) all it is offered.
    private const double OverloadStart = 0.8, OverloadStep = 1.15, OverloadKeptUp = 0.98;
    private const int OverloadPhases = 6;

    /// <summary>
    /// 64 B UDP: the echo rate at the generator's maximum offered load against the server's peak, the
    /// best echo rate of a sweep of paced loads around it. The figures are "udp-64-peak" (the best
    /// rate, the sweep in its notes) and "udp-64-overload" (the rate at the maximum, with the overload
    /// factor, offered / peak, and the rate as a fraction of the peak).
    /// </summary>
    private void RunOverload(BackendKind b)
    {
        string name = Name(b);
        if (!TryStartServer(b, udpPhase: true, ["udp-64-overload"], out var server))
            return;
        using (server)
        {
            WarmUdpServer(name);
            Guard("udp-64-overload", name, () =>
            {
                _progress.Step($"udp-64 at the generator's maximum on {name}");
                var max = Tool(_xdpPerf, GenArgs(64, "tput"), out var cpu);
                double offeredMax = max.GetProperty("sent_pps").GetDouble(), echoedMax = max.GetProperty("recv_pps").GetDouble();
                double peak = echoedMax, peakOffered = offeredMax;
                var sweep = new List<string>();
                double rate = OverloadStart * echoedMax;
                for (int phase = 0; phase < OverloadPhases; phase++, rate *= OverloadStep)
                {
                    _progress.Step($"udp-64 at {rate:F0} msg/s on {name}");
                    var r = Tool(_xdpPerf, [.. GenArgs(64, "tput"), "--rate", Math.Round(rate).ToString(Inv)], out _);
                    double sent = r.GetProperty("sent_pps").GetDouble(), echoed = r.GetProperty("recv_pps").GetDouble();
                    sweep.Add(string.Create(Inv, $"{sent / 1000:F0}k→{echoed / 1000:F0}k"));
                    if (echoed > peak)
                        (peak, peakOffered) = (echoed, sent);
                    if (echoed < OverloadKeptUp * sent || sent < 0.9 * rate)
                        break; // past the server's peak, or the generator's
                }
                _figures.Add(new Figure
                {
                    Scenario = "udp-64-peak", Backend = name, Value = peak, Unit = "msg/s", Limit = "best of the sweep",
                    Notes = string.Create(Inv, $"offered→echoed: {string.Join(", ", sweep)}, max {offeredMax / 1000:F0}k→{echoedMax / 1000:F0}k"),
                });
                _figures.Add(new Figure
                {
                    Scenario = "udp-64-overload", Backend = name, Value = echoedMax, Unit = "msg/s", ServerCpu = cpu[0], LoadCpu = cpu[1],
                    Limit = string.Create(Inv, $"{echoedMax / Math.Max(1, peak):F2}× of peak"),
                    Notes = string.Create(Inv, $"offered {offeredMax:F0} msg/s = {offeredMax / Math.Max(1, peak):F2}× the peak ({peak:F0} at {peakOffered:F0} offered); generator xsk drops {max.GetProperty("xsk_rx_dropped").GetUInt64()}"),
                });
            });
            server.Stop(TimeSpan.FromSeconds(3));
        }
    }

    /// <summary>Starts <paramref name="b"/>'s server; when it cannot start, records the failure for each of <paramref name="scenarios"/>.</summary>
    private bool TryStartServer(BackendKind b, bool udpPhase, string[] scenarios, out NsProcess server)
    {
        try
        {
            server = StartServer(b, udpPhase);
            return true;
        }
        catch (PerfException e)
        {
            foreach (var scenario in scenarios)
                Fail(scenario, Name(b), e.Message);
            server = null!;
            return false;
        }
    }

    // Demi's servers print "STATS {echoed, allocated}" on exit: managed bytes per UDP echo after warm-up.
    private void NoteServerAllocation(NsProcess server, string backend)
    {
        if (ServerReport(server, "STATS ") is not { } stats)
            return;
        double perMessage = stats.GetProperty("allocated").GetDouble() / Math.Max(1, stats.GetProperty("echoed").GetDouble());
        NoteUdpThroughput(backend, "", string.Create(Inv, $"; server allocated {perMessage:F3} B/echo over {stats.GetProperty("echoed").GetDouble():F0} echoes (all UDP phases)"));
    }

    // Demi-DPDK's server also prints "DPDK {...}" on exit: frames per PMD burst each way (a short RX burst
    // means the ring was nearly empty), the PMD's RX misses (DPDK 22.11's af_packet reports none) and the stack's counters.
    private void NoteDpdkBursts(NsProcess server, string backend, string suffix)
    {
        if (ServerReport(server, "DPDK ") is not { } d)
            return;
        double Get(string name) => d.GetProperty(name).GetDouble();
        NoteUdpThroughput(backend, suffix, string.Create(Inv,
            $"; server {Get("rx_frames") / Math.Max(1, Get("rx_bursts")):F1} frames per RX burst, {Get("tx_frames") / Math.Max(1, Get("tx_bursts")):F1} per TX burst, RX missed {Get("rx_missed"):F0}, no mbuf {Get("rx_nombuf"):F0}, stack {d.GetProperty("stack").GetString()} (all UDP phases)"));
    }

    // The JSON after the last line of the server's output that starts with prefix, if there is one.
    private static JsonElement? ServerReport(NsProcess server, string prefix)
    {
        var line = server.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
        return line is null ? null : JsonDocument.Parse(line[prefix.Length..]).RootElement;
    }

    // Appends a note to the backend's UDP throughput figures ("udp-SIZE-tput" + suffix: a paired round's " rN", or none).
    private void NoteUdpThroughput(string backend, string suffix, string note)
    {
        foreach (var f in _figures.Where(f => f.Backend == backend && f.Scenario.StartsWith("udp-", StringComparison.Ordinal) && f.Scenario.EndsWith($"-tput{suffix}", StringComparison.Ordinal)))
            f.Notes += note;
    }

    /// <summary>The generator's arguments for one phase, or (<paramref name="warmupSeconds"/> set) for an unmeasured warm-up of that length.</summary>
    private string[] GenArgs(int size, string mode, double? warmupSeconds = null) =>
    [
        "gen", _net.InterfaceB, "--src-mac", _net.MacB.ToString(), "--dst-mac", _net.MacA.ToString(),
        "--src-ip", _net.AddressB, "--dst-ip", _net.AddressA, "--sport", $"{GenPort}", "--dport", $"{UdpPort}",
        "--size", size.ToString(Inv), "--mode", mode,
        "--seconds", (warmupSeconds ?? o.Seconds).ToString(Inv), "--warmup", (warmupSeconds is null ? o.Warmup : 0).ToString(Inv),
    ];

    /// <summary>
    /// Runs <paramref name="loads"/> one after the other against a freshly started server, unmeasured
    /// (<see cref="PerfOptions.ServerWarmup"/>): without it the first phase after a start measures
    /// Demi partly on tier-0 and instrumented code, with the JIT's thread on the server's core.
    /// Every backend gets the same warm-up, C and testpmd included.
    /// </summary>
    private void WarmServer(string name, (string Tool, string[] Args)[] loads)
    {
        if (o.ServerWarmup <= 0)
            return;
        _progress.Step($"warming up {name} ({o.ServerWarmup:0.#} s, not measured)");
        foreach (var (tool, args) in loads)
        {
            try
            {
                RunTool(tool, args, out _);
            }
            catch (PerfException e)
            {
                // The measured phases that follow report the failure where it counts.
                Console.Error.WriteLine($"warm-up of {name}: {e.Message}");
            }
        }
    }

    /// <summary>The UDP servers' warm-up: the 64 B throughput phase's own load.</summary>
    private void WarmUdpServer(string name) => WarmServer(name, [(_xdpPerf, GenArgs(64, "tput", o.ServerWarmup))]);

    private JsonElement RunTool(string file, string[] args, out double[] cpu)
    {
        using var p = new NsProcess(_net.NamespaceB, o.LoadCore, file, args);
        // CPU busy is sampled over the whole run, warm-up included: enough to see which core saturates.
        p.WaitExit(TimeSpan.FromSeconds(o.Seconds + o.Warmup + 30));
        cpu = _cpu.Busy();
        var line = p.StandardOutput.Split('\n').LastOrDefault(l => l.StartsWith('{'))
            ?? throw new PerfException($"{Path.GetFileName(file)} printed no result:\n{p.StandardError}");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    private JsonElement Tool(string file, string[] args, out double[] cpu)
    {
        _cpu.Restart();
        return RunTool(file, args, out cpu);
    }

    private void UdpThroughput(string backend, int size, string suffix = "")
    {
        var r = Tool(_xdpPerf, GenArgs(size, "tput"), out var cpu);
        double sent = r.GetProperty("sent_pps").GetDouble(), recv = r.GetProperty("recv_pps").GetDouble();
        double ratio = sent > 0 ? recv / sent : 0;
        string limit = recv == 0 ? "server (no echo)"
            : ratio < 0.95 ? $"server (echoed {ratio:P0} of offered)"
            : "generator (server echoed all it was offered)";
        _figures.Add(new Figure
        {
            Scenario = $"udp-{size}-tput{suffix}", Backend = backend, Value = recv, Unit = "msg/s", Limit = limit,
            ServerCpu = cpu[0], LoadCpu = cpu[1],
            Notes = $"offered {sent:F0} msg/s; generator xsk drops {r.GetProperty("xsk_rx_dropped").GetUInt64()}",
        });
    }

    private void UdpLatency(string backend, int size)
    {
        string samples = Path.Combine(_tmp, $"udp-{size}-{backend}.bin");
        var r = Tool(_xdpPerf, [.. GenArgs(size, "lat"), "--rate", o.LatencyRate.ToString(Inv), "--samples", samples], out var cpu);
        var (p50, p99, p999, n) = Latency.FromSamplesFile(samples);
        ulong lost = r.GetProperty("lost").GetUInt64();
        _figures.Add(new Figure
        {
            Scenario = $"udp-{size}-lat", Backend = backend, Value = r.GetProperty("recv_pps").GetDouble(), Unit = "msg/s",
            P50Us = p50, P99Us = p99, P999Us = p999, Limit = "closed loop, 1 in flight", ServerCpu = cpu[0], LoadCpu = cpu[1],
            Notes = $"offered {o.LatencyRate:F0} msg/s; {n} RTTs; {lost} lost (10 ms timeout)",
        });
    }

    // ------------------------------------------------------------------ TCP

    private void RunTcp(BackendKind b)
    {
        string name = Name(b);
        if (!TryStartServer(b, udpPhase: false, ["tcp-rr-1", "tcp-rr-16", "tcp-bulk"], out var server))
            return;
        using (server)
        {
            // Request/response and bulk take different paths through the stack: both are warmed.
            string warm = (o.ServerWarmup / 2).ToString(Inv);
            WarmServer(name,
            [
                (_tcpPerf, ["rr", _net.AddressA, $"{TcpPort}", "16", "64", warm, "0", Path.Combine(_tmp, $"tcp-warm-{name}.bin")]),
                (_tcpPerf, ["bulk", _net.AddressA, $"{SinkPort}", warm, "0"]),
            ]);
            foreach (int conns in new[] { 1, 16 })
            {
                _progress.Step($"tcp-rr-{conns} on {name}");
                Guard($"tcp-rr-{conns}", name, () => TcpRr(name, conns));
            }
            _progress.Step($"tcp-bulk on {name}");
            Guard("tcp-bulk", name, () => TcpBulk(name));
            server.Stop(TimeSpan.FromSeconds(3));
        }
    }

    private void TcpRr(string backend, int conns)
    {
        string samples = Path.Combine(_tmp, $"tcp-{conns}-{backend}.bin");
        var r = Tool(_tcpPerf, ["rr", _net.AddressA, $"{TcpPort}", conns.ToString(Inv), "64", o.Seconds.ToString(Inv), o.Warmup.ToString(Inv), samples], out var cpu);
        var (p50, p99, p999, _) = Latency.FromSamplesFile(samples);
        _figures.Add(new Figure
        {
            Scenario = $"tcp-rr-{conns}", Backend = backend, Value = r.GetProperty("tps").GetDouble(), Unit = "trans/s",
            P50Us = p50, P99Us = p99, P999Us = p999, Limit = CpuLimit(cpu), ServerCpu = cpu[0], LoadCpu = cpu[1],
            Notes = $"64 B request/response, {conns} connection(s); errors {r.GetProperty("errors").GetUInt64()}",
        });
    }

    private void TcpBulk(string backend)
    {
        var r = Tool(_tcpPerf, ["bulk", _net.AddressA, $"{SinkPort}", o.Seconds.ToString(Inv), o.Warmup.ToString(Inv)], out var cpu);
        _figures.Add(new Figure
        {
            Scenario = "tcp-bulk", Backend = backend, Value = r.GetProperty("gbps").GetDouble(), Unit = "Gbit/s",
            Limit = CpuLimit(cpu), ServerCpu = cpu[0], LoadCpu = cpu[1],
            Notes = $"{r.GetProperty("bytes").GetUInt64()} B in {r.GetProperty("seconds").GetDouble():F2} s; server FIN seen: {r.GetProperty("fin").GetBoolean()}",
        });
    }

    /// <summary>Which core saturated: the side at ≥ 90 % busy limited the figure (kernel TCP work is charged to whichever core ran it).</summary>
    private static string CpuLimit(double[] cpu) => (cpu[0] >= 0.9, cpu[1] >= 0.9) switch
    {
        (true, false) => "server (core saturated)",
        (false, true) => "generator (core saturated)",
        (true, true) => "both cores saturated",
        _ => "round trips (neither core saturated)",
    };

    private void Guard(string scenario, string backend, Action run)
    {
        try
        {
            run();
        }
        catch (Exception e) when (e is PerfException or JsonException or KeyNotFoundException or IOException or InvalidOperationException)
        {
            Fail(scenario, backend, e.Message);
        }
    }

    private void Fail(string scenario, string backend, string error)
    {
        Console.Error.WriteLine($"\n{scenario} on {backend} failed: {error}");
        _figures.Add(new Figure { Scenario = scenario, Backend = backend, Unit = "", Error = error.Split('\n')[0] });
    }
}
