using System.Globalization;

namespace Demi.Perf;

/// <summary>Command-line options of a benchmark run.</summary>
public sealed class PerfOptions
{
    /// <summary>Short run (under a minute): shorter phases and lower sample counts.</summary>
    public bool Quick { get; set; }

    /// <summary>Folder the results go to; a time-stamped sub-folder is made per run.</summary>
    public string ResultsDir { get; set; } = "perf/Demi.Perf/results";

    /// <summary>Backends to run (names as in <see cref="BackendKind"/>, lower case); empty means all available.</summary>
    public List<string> Backends { get; } = new();

    /// <summary>Scenario groups to run: "udp", "tcp" (default both), "overload", "paired".</summary>
    public List<string> Groups { get; } = new();

    /// <summary>
    /// Rounds of the "paired" group: in each, every backend's UDP throughput is measured right after the
    /// previous backend's, so that ratios compare figures taken seconds apart rather than minutes.
    /// </summary>
    public int Rounds { get; set; } = 3;

    /// <summary>Core the server runs on.</summary>
    public int ServerCore { get; set; } = 1;

    /// <summary>Core the load generator runs on.</summary>
    public int LoadCore { get; set; } = 0;

    /// <summary>Measured seconds of each throughput phase.</summary>
    public double Seconds { get; set; } = 5;

    /// <summary>Warm-up seconds before each measured phase.</summary>
    public double Warmup { get; set; } = 1;

    /// <summary>
    /// Seconds of unmeasured load each freshly started server gets before its first measured phase, so
    /// that .NET's tiered JIT has compiled Demi's hot paths (fully optimised, PGO included) and its
    /// compiler thread no longer shares the server's core. 0 measures from a cold start.
    /// </summary>
    public double ServerWarmup { get; set; } = 3;

    /// <summary>Offered load of the closed-loop latency phases, messages per second.</summary>
    public double LatencyRate { get; set; } = 10_000;

    /// <summary>Idle strategy of Demi's shard thread (spin, park, spin-then-park).</summary>
    public string ShardIdle { get; set; } = "spin-then-park";

    /// <summary>Idle strategy of the Demi echo app's WaitAny (spin, park, spin-then-park).</summary>
    public string WaitIdle { get; set; } = "spin-then-park";

    /// <summary>MTU of the veth pair (both ends). Above 1500 the AF_XDP servers use 4 KiB UMEM frames.</summary>
    public int Mtu { get; set; } = 1500;

    /// <summary>
    /// Largest veth MTU native XDP accepts without multi-buffer programs: a frame must fit one page
    /// after XDP's headroom and the skb's shared info (veth_xdp_set refuses more).
    /// </summary>
    public const int MaxXdpMtu = 3490;

    /// <summary>Parses the arguments; returns null and prints usage on a bad one.</summary>
    public static PerfOptions? Parse(string[] args)
    {
        var o = new PerfOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{a} needs a value");
            switch (a)
            {
                case "--quick": o.Quick = true; o.Seconds = 1; o.Warmup = 0.3; o.ServerWarmup = 0.5; o.LatencyRate = 5_000; break;
                case "--out": o.ResultsDir = Next(); break;
                case "--backend": o.Backends.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--only": o.Groups.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--server-core": o.ServerCore = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--load-core": o.LoadCore = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--seconds": o.Seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--warmup": o.Warmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--rounds": o.Rounds = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--server-warmup": o.ServerWarmup = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--shard-idle": o.ShardIdle = Next(); break;
                case "--wait-idle": o.WaitIdle = Next(); break;
                case "--rate": o.LatencyRate = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "--mtu": o.Mtu = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                case "-h":
                case "--help":
                    PrintUsage();
                    return null;
                default:
                    Console.Error.WriteLine($"unknown argument {a}");
                    PrintUsage();
                    return null;
            }
        }
        if (o.Seconds <= 0 || o.Seconds > 120 || o.Warmup < 0 || o.Warmup > 30 || o.ServerWarmup < 0 || o.ServerWarmup > 60 || o.Rounds < 1 || o.Rounds > 20 || o.LatencyRate <= 0 || o.LatencyRate > 1e6 || o.Mtu < 576 || o.Mtu > MaxXdpMtu)
            throw new ArgumentException($"--seconds must be in (0, 120], --warmup in [0, 30], --server-warmup in [0, 60], --rounds in [1, 20], --rate in (0, 1e6], --mtu in [576, {MaxXdpMtu}]");
        return o;
    }

    /// <summary>Prints the usage text.</summary>
    public static void PrintUsage() => Console.Error.WriteLine("""
        usage: Demi.Perf [--quick] [--out DIR] [--backend c-xdp,dotnet-kernel,demi-kernel,demi-xdp,demi-dpdk,dpdk-testpmd] [--only udp,tcp,overload,paired] [--rounds N]
                         [--server-core N] [--load-core N] [--seconds S] [--warmup S] [--server-warmup S] [--rate MSG_PER_S]
                         [--shard-idle spin|park|spin-then-park] [--wait-idle spin|park|spin-then-park] [--mtu N]
        Runs as root: builds two network namespaces joined by a veth pair and measures UDP echo and TCP
        request/response and bulk per backend, server pinned to one core, load generator to the other.
        """);
}
