using Demi.Perf.Internal;

namespace Demi.Perf;

/// <summary>Entry point: <c>serve ...</c> runs one server (inside the server namespace); anything else runs the benchmark.</summary>
public static class Program
{
    /// <summary>Runs the harness or a server.</summary>
    public static int Main(string[] args)
    {
        try
        {
            if (args.Length > 0 && args[0] == "serve")
                return ServerMain.Run(args[1..]);
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
