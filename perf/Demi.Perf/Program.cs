using Demi.Perf.Internal;

namespace Demi.Perf;

/// <summary>Entry point: <c>serve ...</c> runs one server (inside the server namespace); anything else runs the benchmark.</summary>
public static class Program
{
    /// <summary><c>scaling [--runs N] [--connections N] [--paced-rate MSG_PER_S] [harness options]</c>: 1 vs 2 shards side by side.</summary>
    private static int RunScaling(string[] args)
    {
        int runs = 3, connections = 64, pacedRate = 50_000;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length)
                runs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--connections" && i + 1 < args.Length)
                connections = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--paced-rate" && i + 1 < args.Length)
                pacedRate = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else
                rest.Add(args[i]);
        }
        var options = PerfOptions.Parse([.. rest]);
        if (options is null)
            return 1;
        if (runs < 1 || runs > 10 || connections < 1 || connections > 1000 || pacedRate < 0 || pacedRate > 1_000_000)
            throw new ArgumentException("--runs must be in [1, 10], --connections in [1, 1000], --paced-rate in [0, 1000000]");
        return new ScalingRunner(options, runs, connections, pacedRate).Run();
    }

    /// <summary>
    /// <c>startup [--seconds 6] [--runs 3] [--variant NAME]... [--builds DIR] [--cold-arp] [harness options]</c>: time to
    /// full speed of the <c>demi</c> CLI's AF_XDP echo server per JIT configuration.
    /// </summary>
    private static int RunStartup(string[] args)
    {
        int runs = 3;
        double seconds = 6;
        string? builds = null;
        bool coldArp = false;
        var only = new List<string>();
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length)
                runs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--seconds" && i + 1 < args.Length)
                seconds = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--variant" && i + 1 < args.Length)
                only.Add(args[++i]);
            else if (args[i] == "--cold-arp")
                coldArp = true;
            else if (args[i] == "--builds" && i + 1 < args.Length)
                builds = Path.GetFullPath(args[++i]);
            else
                rest.Add(args[i]);
        }
        var options = PerfOptions.Parse([.. rest]);
        if (options is null)
            return 1;
        if (runs < 1 || runs > 10)
            throw new ArgumentException("--runs must be in [1, 10]");
        return new StartupRunner(options, runs, seconds, builds, only, coldArp).Run();
    }

    /// <summary>Runs the harness or a server.</summary>
    public static int Main(string[] args)
    {
        try
        {
            if (args.Length > 0 && args[0] == "serve")
                return ServerMain.Run(args[1..]);
            if (args.Length > 0 && args[0] == "scaling")
                return RunScaling(args[1..]);
            if (args.Length > 0 && args[0] == "startup")
                return RunStartup(args[1..]);
            var options = PerfOptions.Parse(args);
            if (options is null)
                return 1;
            return new Runner(options).Run();
        }
        catch (Exception e) when (e is ArgumentException or PerfException)
        {
            Console.Error.WriteLine($"Demi.Perf: {e.Message}");
            return 2;
        }
    }
}
