using ScottPlot;

namespace Demi.Perf.Internal;

/// <summary>PNG with two panels: throughput per scenario (relative to the best backend) and RTT percentiles.</summary>
internal static class Chart
{
    public static void Write(string path, List<Figure> figures, string[] backendOrder)
    {
        var backends = backendOrder.Where(b => figures.Any(f => f.Backend == b)).ToArray();
        var ok = figures.Where(f => f.Error is null).ToList();
        var tput = ok.Where(f => !f.Scenario.Contains("-lat", StringComparison.Ordinal)).Select(f => f.Scenario).Distinct().ToArray();
        var lat = ok.Where(f => f.P99Us is double d && !double.IsNaN(d)).Select(f => f.Scenario).Distinct().ToArray();
        var palette = new ScottPlot.Palettes.Category10();

        var multi = new Multiplot();
        multi.AddPlots(2);
        var p1 = multi.GetPlot(0);
        var p2 = multi.GetPlot(1);
        Bars(p1, tput, backends, ok, palette, f => f.Value, normalize: true);
        p1.Title("Throughput (share of the best backend per scenario; label = value)");
        p1.Axes.Left.Label.Text = "relative throughput";
        Bars(p2, lat, backends, ok, palette, f => f.P99Us ?? 0, normalize: false);
        p2.Title("p99 round-trip time (µs, lower is better)");
        p2.Axes.Left.Label.Text = "µs";
        multi.SavePng(path, 1400, 1000);
    }

    private static void Bars(Plot plot, string[] scenarios, string[] backends, List<Figure> figures, IPalette palette,
        Func<Figure, double> value, bool normalize)
    {
        double width = 0.8 / Math.Max(1, backends.Length);
        for (int bi = 0; bi < backends.Length; bi++)
        {
            var bars = new List<Bar>();
            for (int si = 0; si < scenarios.Length; si++)
            {
                var f = figures.FirstOrDefault(g => g.Scenario == scenarios[si] && g.Backend == backends[bi]);
                if (f is null)
                    continue;
                double v = value(f);
                double best = normalize ? figures.Where(g => g.Scenario == scenarios[si]).Max(value) : 1;
                bars.Add(new Bar
                {
                    Position = si - 0.4 + width * (bi + 0.5),
                    Value = best > 0 ? v / best : 0,
                    FillColor = palette.GetColor(bi),
                    Label = normalize ? Short(v, f.Unit) : v.ToString("F0", System.Globalization.CultureInfo.InvariantCulture),
                    Size = width * 0.95,
                });
            }
            var series = plot.Add.Bars(bars);
            series.LegendText = backends[bi];
            series.ValueLabelStyle.FontSize = 9;
        }
        var ticks = scenarios.Select((s, i) => new Tick(i, s)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend(Alignment.UpperRight);
    }

    private static string Short(double v, string unit) => unit == "Gbit/s"
        ? v.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "G"
        : (v / 1000).ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + "k";
}
