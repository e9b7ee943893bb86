using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Demi.Perf.Internal;

/// <summary>The results of one run: Markdown table, JSON file (figures and ratios) and PNG chart.</summary>
internal sealed class Report(DateTimeOffset started, PerfOptions options, List<Figure> figures, Dictionary<string, string> unavailable)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] BackendOrder = ["c-xdp", "dotnet-kernel", "demi-kernel", "demi-xdp", "dpdk-testpmd", "demi-dpdk"];

    /// <summary>Demi/kernel and Demi/C-reference ratios of every Demi figure.</summary>
    public List<Ratio> Ratios()
    {
        var list = new List<Ratio>();
        foreach (var f in figures.Where(f => f.Backend.StartsWith("demi", StringComparison.Ordinal) && f.Error is null))
        {
            bool lat = f.Scenario.Contains("-lat", StringComparison.Ordinal);
            double? Metric(Figure? g) => g is null || g.Error is not null ? null : lat ? g.P99Us : g.Value;
            double? Div(double? a, double? b) => a is null || b is null || b == 0 || double.IsNaN(b.Value) ? null : a / b;
            var kernel = figures.FirstOrDefault(g => g.Scenario == f.Scenario && g.Backend == "dotnet-kernel");
            var c = figures.FirstOrDefault(g => g.Scenario == f.Scenario && g.Backend == "c-xdp");
            list.Add(new Ratio(f.Scenario, f.Backend, lat ? "p99 RTT" : f.Unit, Div(Metric(f), Metric(kernel)), Div(Metric(f), Metric(c))));
        }
        return list;
    }

    /// <summary>Demi-DPDK against the DPDK reference (testpmd 5tswap, same vdev) and against Demi-XDP: (scenario, metric, vs testpmd, vs Demi-XDP).</summary>
    public List<(string Scenario, string Metric, double? VsTestpmd, double? VsDemiXdp)> DpdkRatios()
    {
        var list = new List<(string, string, double?, double?)>();
        foreach (var f in figures.Where(f => f.Backend == "demi-dpdk" && f.Error is null))
        {
            bool lat = f.Scenario.Contains("-lat", StringComparison.Ordinal);
            double? Metric(Figure? g) => g is null || g.Error is not null ? null : lat ? g.P99Us : g.Value;
            double? Div(double? a, double? b) => a is null || b is null || b == 0 || double.IsNaN(b.Value) ? null : a / b;
            var testpmd = figures.FirstOrDefault(g => g.Scenario == f.Scenario && g.Backend == "dpdk-testpmd");
            var xdp = figures.FirstOrDefault(g => g.Scenario == f.Scenario && g.Backend == "demi-xdp");
            list.Add((f.Scenario, lat ? "p99 RTT" : f.Unit, Div(Metric(f), Metric(testpmd)), Div(Metric(f), Metric(xdp))));
        }
        return list;
    }

    public string Markdown()
    {
        var sb = new StringBuilder();
        var backends = BackendOrder.Where(b => figures.Any(f => f.Backend == b)).ToList();
        sb.AppendLine(Inv, $"Run {started:yyyy-MM-dd HH:mm zzz} on {Machine()}{(options.Quick ? " (--quick)" : "")}; server on core {options.ServerCore}, load generator on core {options.LoadCore}; {options.Seconds} s per phase after {options.Warmup} s warm-up, each server first warmed up unmeasured for {options.ServerWarmup} s; Demi shard idle {options.ShardIdle}, wait idle {options.WaitIdle}.");
        sb.AppendLine();
        sb.AppendLine("| scenario | " + string.Join(" | ", backends) + " |");
        sb.AppendLine("|---|" + string.Concat(backends.Select(_ => "---|")));
        foreach (var scenario in figures.Select(f => f.Scenario).Distinct())
        {
            sb.Append(Inv, $"| {scenario} |");
            foreach (var b in backends)
            {
                var f = figures.FirstOrDefault(g => g.Scenario == scenario && g.Backend == b);
                sb.Append(' ').Append(f is null ? "–" : Cell(f)).Append(" |");
            }
            sb.AppendLine();
        }
        sb.AppendLine();
        sb.AppendLine("Limit (which side limited each figure; server core / generator core busy):");
        sb.AppendLine();
        sb.AppendLine("| scenario | backend | limited by | server CPU | generator CPU | notes |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var f in figures)
            sb.AppendLine(Inv, $"| {f.Scenario} | {f.Backend} | {(f.Error is null ? f.Limit : "failed: " + f.Error)} | {f.ServerCpu:P0} | {f.LoadCpu:P0} | {f.Notes} |");
        var ratios = Ratios();
        if (ratios.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| scenario | Demi backend | metric | Demi / .NET kernel | Demi / C reference |");
            sb.AppendLine("|---|---|---|---|---|");
            foreach (var r in ratios)
                sb.AppendLine(Inv, $"| {r.Scenario} | {r.Backend} | {r.Metric} | {Fmt(r.VsKernel)} | {Fmt(r.VsCReference)} |");
        }
        var dpdk = DpdkRatios();
        if (dpdk.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("| scenario | metric | demi-dpdk / dpdk-testpmd | demi-dpdk / demi-xdp |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var r in dpdk)
                sb.AppendLine(Inv, $"| {r.Scenario} | {r.Metric} | {Fmt(r.VsTestpmd)} | {Fmt(r.VsDemiXdp)} |");
        }
        AppendPairedSummary(sb);
        foreach (var (b, why) in unavailable)
            sb.AppendLine().AppendLine(Inv, $"`{b}` not run: {why}.");
        return sb.ToString();
    }

    // Which figure each Demi backend is compared with in the paired rounds.
    private static readonly (string Backend, string Reference)[] PairedComparisons =
    [
        ("demi-xdp", "c-xdp"), ("demi-kernel", "dotnet-kernel"), ("demi-dpdk", "dpdk-testpmd"), ("demi-dpdk", "demi-xdp"),
    ];

    /// <summary>For the "paired" group ("SCENARIO rN" figures): each comparison's per-round ratios, their median and range.</summary>
    private void AppendPairedSummary(StringBuilder sb)
    {
        var rounds = figures
            .Select(f => (Figure: f, Split: f.Scenario.LastIndexOf(" r", StringComparison.Ordinal)))
            .Where(x => x.Split > 0 && int.TryParse(x.Figure.Scenario.AsSpan(x.Split + 2), NumberStyles.None, Inv, out _))
            .ToList();
        if (rounds.Count == 0)
            return;
        sb.AppendLine();
        sb.AppendLine("Paired rounds (each ratio within one round):");
        sb.AppendLine();
        sb.AppendLine("| scenario | ratio | per round | median (range) |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var scenario in rounds.Select(x => x.Figure.Scenario[..x.Split]).Distinct())
        {
            foreach (var (backend, reference) in PairedComparisons)
            {
                var perRound = rounds
                    .Where(x => x.Figure.Scenario[..x.Split] == scenario && x.Figure.Backend == backend && x.Figure.Error is null)
                    .Select(x => (Demi: x.Figure, Reference: figures.FirstOrDefault(g => g.Scenario == x.Figure.Scenario && g.Backend == reference)))
                    .Where(p => p.Reference is { Error: null } && p.Reference.Value > 0)
                    .Select(p => p.Demi.Value / p.Reference!.Value)
                    .ToList();
                if (perRound.Count == 0)
                    continue;
                sb.AppendLine(Inv, $"| {scenario} | {backend} / {reference} | {string.Join(", ", perRound.Select(r => r.ToString("F2", Inv)))} | {ScalingRunner.Median(perRound):F2}× ({perRound.Min():F2}–{perRound.Max():F2}×) |");
            }
        }
    }

    private static string Fmt(double? v) => v is null ? "–" : v.Value.ToString("F2", Inv) + "×";

    private static string Cell(Figure f)
    {
        if (f.Error is not null)
            return "failed";
        string v = f.Unit switch
        {
            "Gbit/s" => $"{f.Value:F2} Gbit/s",
            _ => $"{f.Value / 1000:F1} k{f.Unit}",
        };
        if (f.P50Us is double p50 && !double.IsNaN(p50))
            v = f.Scenario.Contains("-lat", StringComparison.Ordinal)
                ? $"{p50:F1} / {f.P99Us:F1} / {f.P999Us:F1} µs"
                : v + $" ({p50:F1} / {f.P99Us:F1} / {f.P999Us:F1} µs)";
        return v.ToString(Inv);
    }

    private static string Machine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        // Other work on the machine skews every figure on 2 cores: record the load average with them.
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
        return $"{Environment.ProcessorCount}× {cpu}, Linux {Environment.OSVersion.Version}, .NET {Environment.Version}, load average {load} at the end";
    }

    public void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "results.md"), Markdown());
        var json = new
        {
            started,
            machine = Machine(),
            options = new { options.Quick, options.Seconds, options.Warmup, options.LatencyRate, options.ServerCore, options.LoadCore, options.ShardIdle, options.WaitIdle },
            figures,
            ratios = Ratios(),
            dpdkRatios = DpdkRatios().Select(r => new { r.Scenario, r.Metric, r.VsTestpmd, r.VsDemiXdp }),
            unavailable,
        };
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        Chart.Write(Path.Combine(dir, "chart.png"), figures, BackendOrder);
    }
}
