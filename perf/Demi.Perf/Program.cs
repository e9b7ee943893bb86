using Demi.Perf.Internal;

namespace Demi.Perf;

/// <summary>Entry point: <c>serve ...</c> runs one server (inside the server namespace); anything else runs the benchmark.</summary>
public static class Program
{
    /// <summary><c>scaling [--runs N] [--connections N] [harness options]</c>: 1 vs 2 shards side by side.</summary>
    private static int RunScaling(string[] args)
    {
        int runs = 3, connections = 64;
        var rest = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--runs" && i + 1 < args.Length)
                runs = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else if (args[i] == "--connections" && i + 1 < args.Length)
                connections = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
            else
                rest.Add(args[i]);
        }
        var options = PerfOptions.Parse([.. rest]);
        if (options is null)
            return 1;
        if (runs < 1 || runs > 10 || connections < 1 || connections > 1000)
            throw new ArgumentException("--runs must be in [1, 10], --connections in [1, 1000]");
        return new ScalingRunner(options, runs, connections).Run();
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
