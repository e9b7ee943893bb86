using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Demi.Transport.Xdp;

namespace Demi.Perf.Internal;

/// <summary>
/// The start-up benchmark (<c>Demi.Perf startup</c>): how long the real <c>demi echo server</c> (UDP,
/// AF_XDP backend, the command a user runs) needs after printing its ready line to reach full speed,
/// per JIT configuration: the default (tiered compilation with dynamic PGO), runtime knobs that change
/// tiering, ReadyToRun with and without tiering, and NativeAOT. Each run starts a fresh server in
/// namespace A, pinned to the server core, and the AF_XDP generator in B (open loop, 64 B, no warm-up)
/// the moment the ready line arrives; the generator's 100 ms timeline of echoes received gives the
/// first-second rate, the steady rate (the last two seconds) and the time until a 100 ms interval first
/// runs at 90 % of the steady rate. Unless <c>coldArp</c>, one ping from B between the ready line and
/// the generator lets the server resolve the generator's address first (its time counts).
/// </summary>
internal sealed class StartupRunner(PerfOptions o, int runs, double seconds, string? buildsDir, IReadOnlyList<string> only, bool coldArp)
{
    private const int UdpPort = 7, GenPort = 9000, TimelineMs = 100;
    private const double FullSpeedFraction = 0.9;
    private const string Nice = "-10";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One way to run the server: a published build and the runtime knobs set in its environment.</summary>
    private sealed record Variant(string Name, string Build, IReadOnlyDictionary<string, string> Environment);

    /// <summary>A published build of src/Demi.Cli: how it was published, where, and its size on disk.</summary>
    private sealed record Build(string Name, string[] PublishArgs, bool Native)
    {
        public string Directory { get; set; } = "";
        public string? Failure { get; set; }
        public long Bytes { get; set; }
    }

    private sealed record Row(int Run, string Variant, double StartToReadyMs, double ReadyToFirstFrameMs, double ServerCores, double FirstSecond, double Steady, double TimeToFullSpeedMs, long Echoes, long[] Timeline);

    private static readonly Dictionary<string, string> None = new();

    // The CLI turns tiered compilation off in its project (runtimeconfig.json); DOTNET_TieredCompilation=1
    // (the environment wins over runtimeconfig.json) brings back .NET's default for the tiered variants.
    private static Dictionary<string, string> Tiered(params (string Name, string Value)[] more)
    {
        var env = new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "1" };
        foreach (var (name, value) in more)
            env[name] = value;
        return env;
    }

    private static readonly Variant[] Variants =
    [
        new("default (TieredCompilation off, the project's setting)", "jit", None),
        new("tiered, PGO (.NET's default)", "jit", Tiered()),
        new("tiered, DOTNET_TieredPGO=0", "jit", Tiered(("DOTNET_TieredPGO", "0"))),
        new("tiered, DOTNET_TC_QuickJitForLoops=0", "jit", Tiered(("DOTNET_TC_QuickJitForLoops", "0"))),
        new("tiered, DOTNET_TC_CallCountingDelayMs=0", "jit", Tiered(("DOTNET_TC_CallCountingDelayMs", "0"))),
        new("tiered, DOTNET_TC_DelaySingleProcMultiplier=1", "jit", Tiered(("DOTNET_TC_DelaySingleProcMultiplier", "1"))),
        new("ReadyToRun (TieredCompilation off)", "r2r", None),
        new("ReadyToRun, tiered, PGO", "r2r", Tiered()),
        new("NativeAOT", "aot", None),
    ];

    private VethNamespaces _net = null!;
    private string _xdpPerf = "";

    public int Run()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            throw new PerfException($"cannot run: {reason}");
        if (Stopwatch.Frequency != 1_000_000_000)
            throw new PerfException("Stopwatch is not CLOCK_MONOTONIC in nanoseconds: the generator's timeline cannot be lined up with the ready line");
        if (seconds < 3 || seconds > 10)
            throw new ArgumentException("--seconds must be in [3, 10] (the steady rate is the last two seconds; runs stay short)");
        var variants = Variants.Where(v => only.Count == 0 || only.Any(n => v.Name.Contains(n, StringComparison.OrdinalIgnoreCase))).ToList();
        if (variants.Count == 0)
            throw new ArgumentException($"--variant matches none of: {string.Join(", ", Variants.Select(v => v.Name))}");
        (_xdpPerf, _) = NativeTools.Build();
        string repo = FindRepository();
        string tmp = Directory.CreateTempSubdirectory("demi-startup-").FullName;
        var builds = new Dictionary<string, Build>
        {
            ["jit"] = new("jit", [], false),
            ["r2r"] = new("r2r", ["-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true"], false),
            ["aot"] = new("aot", ["-r", "linux-x64", "-p:PublishAot=true"], true),
        };
        foreach (var name in variants.Select(v => v.Build).Distinct())
            Publish(repo, builds[name], buildsDir ?? tmp);
        var started = DateTimeOffset.Now;
        string loadBefore = File.ReadAllText("/proc/loadavg").Trim();
        var rows = new List<Row>();
        try
        {
            using (_net = VethNamespaces.Create(new VethOptions()))
            {
                _net.AddNeighbor(VethSide.B, _net.AddressA, _net.MacA);
                for (int run = 1; run <= runs; run++)
                {
                    foreach (var v in variants)
                    {
                        var build = builds[v.Build];
                        if (build.Failure is not null)
                            continue;
                        Console.Error.WriteLine($"run {run}/{runs}: {v.Name}");
                        rows.Add(Measure(run, v, build));
                    }
                }
            }
        }
        finally
        {
            Directory.Delete(tmp, recursive: true);
        }
        string md = Markdown(started, loadBefore, variants, builds, rows);
        string dir = Path.Combine(o.ResultsDir, "startup-" + started.ToString("yyyyMMdd-HHmmss", Inv));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.md"), md);
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        Console.Out.WriteLine(md);
        Console.Out.WriteLine($"results: {Path.GetFullPath(dir)}");
        return 0;
    }

    /// <summary>The repository root (the folder with Demi.sln), from the working directory or the harness's binary.</summary>
    private static string FindRepository()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "Demi.sln")) && File.Exists(Path.Combine(d.FullName, "src", "Demi.Cli", "Demi.Cli.csproj")))
                    return d.FullName;
        }
        throw new PerfException("cannot find the repository (Demi.sln with src/Demi.Cli): run from inside it");
    }

    /// <summary>
    /// Publishes src/Demi.Cli the way <paramref name="build"/> says into <paramref name="root"/>/NAME (kept
    /// when <c>--builds</c> names a folder that already holds it). A failed publish is reported, not fatal:
    /// its variants are left out with the first error.
    /// </summary>
    private static void Publish(string repo, Build build, string root)
    {
        build.Directory = Path.Combine(root, build.Name);
        string entry = Path.Combine(build.Directory, build.Native ? "demi" : "demi.dll");
        if (!File.Exists(entry))
        {
            Console.Error.WriteLine($"publishing src/Demi.Cli ({build.Name}) ...");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = repo };
            foreach (var a in new[] { "publish", "src/Demi.Cli", "-c", "Release", "-o", build.Directory, "-v", "q", "-nologo" }.Concat(build.PublishArgs))
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi) ?? throw new PerfException("cannot start dotnet publish");
            var stderr = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(entry))
            {
                string firstError = (stdout + stderr.Result).Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))?.Trim() ?? $"exit code {p.ExitCode}";
                build.Failure = firstError;
                Console.Error.WriteLine($"publish {build.Name} failed: {firstError}");
                return;
            }
        }
        // What a user installs: every file of the publish folder except debug symbols and XML docs.
        build.Bytes = Directory.EnumerateFiles(build.Directory, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".pdb", StringComparison.Ordinal) && !f.EndsWith(".xml", StringComparison.Ordinal) && !f.EndsWith(".dbg", StringComparison.Ordinal))
            .Sum(f => new FileInfo(f).Length);
    }

    private Row Measure(int run, Variant v, Build build)
    {
        string[] serverArgs =
        [
            "echo", "server", "--proto", "udp", "--backend", "xdp", "--iface", _net.InterfaceA, "--ip", _net.AddressA,
            "--bind", $"{_net.AddressA}:{UdpPort}", "--cores", o.ServerCore.ToString(Inv),
        ];
        string file = build.Native ? Path.Combine(build.Directory, "demi") : "dotnet";
        // nice execs its argument, so the process id stays the server's; a raised priority keeps the
        // other work on a shared machine from setting the pace (the figures are the server's, not the load's).
        string[] args = build.Native ? ["-n", Nice, file, .. serverArgs] : ["-n", Nice, file, Path.Combine(build.Directory, "demi.dll"), .. serverArgs];
        var (server, t0, ready) = StartServer(args, v.Environment);
        using var _ = server;
        long tReady = Stopwatch.GetTimestamp();
        if (!ready.StartsWith("demi echo server", StringComparison.Ordinal))
            throw new PerfException($"unexpected first line from the server: {ready}\n{server.StandardError}");
        if (!coldArp)
        {
            // One ping makes the server resolve B's MAC before the flood: under 880 k frames/s the ARP
            // reply otherwise waits for a free slot in a full RX ring, which a slow (cold) server can take seconds to give.
            var ping = _net.RunNsenter(VethSide.B, TimeSpan.FromSeconds(5), "ping", "-c", "1", "-W", "2", _net.AddressA);
            if (!ping.Succeeded)
                throw new PerfException($"the server does not answer ping:\n{ping.StandardOutput}{ping.StandardError}\n{server.StandardError}");
        }
        using var gen = new NsProcess(_net.NamespaceB, o.LoadCore, "nice",
        [
            "-n", Nice, _xdpPerf, "gen", _net.InterfaceB, "--src-mac", _net.MacB.ToString(), "--dst-mac", _net.MacA.ToString(),
            "--src-ip", _net.AddressB, "--dst-ip", _net.AddressA, "--sport", $"{GenPort}", "--dport", $"{UdpPort}",
            "--size", "64", "--mode", "tput", "--seconds", seconds.ToString(Inv), "--warmup", "0", "--timeline", $"{TimelineMs}",
        ]);
        gen.WaitExit(TimeSpan.FromSeconds(seconds + 30));
        double serverCores = CpuSampler.ProcessTicks(server.Pid) / CpuSampler.TicksPerSecond / Stopwatch.GetElapsedTime(t0).TotalSeconds;
        server.Stop(TimeSpan.FromSeconds(3));
        if (gen.ExitCode != 0)
            throw new PerfException($"xdpperf gen failed ({gen.ExitCode}):\n{gen.StandardError}");
        var (genStart, bins) = ParseTimeline(gen.StandardError);
        // Stopwatch is CLOCK_MONOTONIC in nanoseconds on Linux (checked in Run), the generator's clock.
        double readyToGenMs = (genStart - tReady) / 1e6;
        double startToReadyMs = (tReady - t0) / 1e6;
        return Analyse(run, v.Name, startToReadyMs, readyToGenMs, serverCores, bins);
    }

    /// <summary>
    /// Starts the server and waits for its ready line. The kernel releases the previous run's AF_XDP
    /// socket asynchronously, so the queue can still be busy (EBUSY) for a moment: then it tries again.
    /// </summary>
    private (NsProcess Server, long Started, string ReadyLine) StartServer(string[] args, IReadOnlyDictionary<string, string> env)
    {
        for (int attempt = 1; ; attempt++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var server = new NsProcess(_net.NamespaceA, o.ServerCore, "nice", args, new Dictionary<string, string>(env));
            try
            {
                return (server, t0, server.WaitFirstLine(TimeSpan.FromSeconds(60)));
            }
            catch (PerfException) when (attempt < 10 && server.StandardError.Contains("errno 16", StringComparison.Ordinal))
            {
                server.Dispose();
                Thread.Sleep(500);
            }
            catch
            {
                server.Dispose();
                throw;
            }
        }
    }

    /// <summary>User plus system CPU ticks of the process so far (/proc/PID/stat fields 14 and 15).</summary>

    /// <summary>Reads "T0 NS" and the "T MS COUNT" lines; the interval ends at MS after the generator's start.</summary>
    private static (long Start, List<(double EndMs, double StartMs, long Echoes)> Bins) ParseTimeline(string stderr)
    {
        long start = -1;
        var bins = new List<(double, double, long)>();
        double previous = 0;
        foreach (var line in stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ');
            if (f.Length == 2 && f[0] == "T0")
                start = long.Parse(f[1], Inv);
            else if (f.Length == 3 && f[0] == "T")
            {
                double end = double.Parse(f[1], Inv);
                bins.Add((end, previous, long.Parse(f[2], Inv)));
                previous = end;
            }
        }
        if (start < 0 || bins.Count == 0)
            throw new PerfException($"xdpperf printed no timeline:\n{stderr}");
        return (start, bins);
    }

    /// <summary>
    /// First second: echoes in the intervals that end within 1 s of the ready line. Steady: the rate over
    /// the last two full seconds. Time to full speed: from the ready line to the end of the first full
    /// interval whose rate reaches 90 % of steady.
    /// </summary>
    private Row Analyse(int run, string variant, double startToReadyMs, double readyToGenMs, double serverCores, List<(double EndMs, double StartMs, long Echoes)> bins)
    {
        var full = bins.Where(b => b.EndMs - b.StartMs >= TimelineMs - 0.5).ToList();
        double steadyFrom = (seconds - 2) * 1000;
        var steadyBins = full.Where(b => b.StartMs >= steadyFrom - 0.5).ToList();
        double steady = steadyBins.Sum(b => b.Echoes) / (steadyBins.Sum(b => b.EndMs - b.StartMs) / 1000);
        double firstSecond = full.Where(b => readyToGenMs + b.EndMs <= 1000.5).Sum(b => (double)b.Echoes);
        double toFull = double.NaN;
        foreach (var b in full)
        {
            if (b.Echoes / ((b.EndMs - b.StartMs) / 1000) >= FullSpeedFraction * steady)
            {
                toFull = readyToGenMs + b.EndMs;
                break;
            }
        }
        return new Row(run, variant, startToReadyMs, readyToGenMs, serverCores, firstSecond, steady, toFull, bins.Sum(b => b.Echoes), [.. bins.Select(b => b.Echoes)]);
    }

    private string Markdown(DateTimeOffset started, string loadBefore, List<Variant> variants, Dictionary<string, Build> builds, List<Row> rows)
    {
        var sb = new StringBuilder();
        string load = File.ReadAllText("/proc/loadavg").Trim();
        sb.AppendLine(Inv, $"Start-up run {started:yyyy-MM-dd HH:mm zzz}, {runs} run(s) × {seconds} s of traffic per variant; `demi echo server --proto udp --backend xdp` pinned to core {o.ServerCore}, the AF_XDP generator (64 B, open loop) on core {o.LoadCore} from the ready line on, both at nice {Nice}{(coldArp ? " (no ping first: the server resolves the generator's MAC under the flood)" : ", after one ping from B (the server resolves B's MAC)")}; load average before: {loadBefore}; after: {load}.");
        sb.AppendLine();
        sb.AppendLine(Inv, $"Ranges over the runs (min–max). First second: echoes/s in the first second after the ready line. Steady: seconds {seconds - 2:0}–{seconds:0}. Full speed: from the ready line until a {TimelineMs} ms interval first runs at ≥ {FullSpeedFraction:P0} of steady.");
        sb.AppendLine();
        sb.AppendLine("| variant | start → ready (ms) | first second (k/s) | steady (k/s) | first second / steady | ready → 90 % of steady (ms) | publish size (MB) |");
        sb.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var v in variants)
        {
            var build = builds[v.Build];
            if (build.Failure is not null)
            {
                sb.AppendLine(Inv, $"| {v.Name} | not published: {build.Failure.Replace('|', '/')} | | | | | |");
                continue;
            }
            var rs = rows.Where(r => r.Variant == v.Name).ToList();
            sb.AppendLine(Inv, $"| {v.Name} | {Range(rs, r => r.StartToReadyMs, "F0")} | {Range(rs, r => r.FirstSecond / 1000, "F1")} | {Range(rs, r => r.Steady / 1000, "F1")} | {Range(rs, r => r.FirstSecond / r.Steady, "F2")} | {Range(rs, r => r.TimeToFullSpeedMs, "F0")} | {build.Bytes / 1e6:F1} |");
        }
        sb.AppendLine();
        sb.AppendLine("| run | variant | start → ready (ms) | ready → generator start (ms) | server cores busy | first second (k/s) | steady (k/s) | ready → 90 % (ms) | echoes |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            sb.AppendLine(Inv, $"| {r.Run} | {r.Variant} | {r.StartToReadyMs:F0} | {r.ReadyToFirstFrameMs:F0} | {r.ServerCores:F2} | {r.FirstSecond / 1000:F1} | {r.Steady / 1000:F1} | {(double.IsNaN(r.TimeToFullSpeedMs) ? "never" : r.TimeToFullSpeedMs.ToString("F0", Inv))} | {r.Echoes} |");
        return sb.ToString();
    }

    private static string Range(List<Row> rows, Func<Row, double> figure, string format)
    {
        var xs = rows.Select(figure).ToList();
        if (xs.Count == 0)
            return "n/a";
        if (xs.Any(double.IsNaN))
            return $"never in {xs.Count(double.IsNaN)} of {xs.Count}";
        return xs.Min() == xs.Max() ? xs.Min().ToString(format, Inv) : $"{xs.Min().ToString(format, Inv)}–{xs.Max().ToString(format, Inv)}";
    }
}
