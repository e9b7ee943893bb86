using System.Diagnostics;
using BenchmarkDotNet.Running;
using Demi.Micro;

// `dotnet run -c Release -- quick [seconds]`: a fixed-duration loop per path printing frames/s and
// allocated bytes/frame on this thread. Anything else goes to BenchmarkDotNet
// (e.g. `-- --filter '*InetBenchmarks*'`).
if (args.Length > 0 && args[0] == "quick")
{
    double seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    using var paths = new InetPaths();
    Measure("stack only: receive (parse->pop)", paths.StackReceiveBurst, seconds);
    Measure("stack only: send (push->NIC)", paths.StackSendBurst, seconds);
    Measure("receive (parse -> socket -> pop)", paths.ReceiveBurst, seconds);
    Measure("send (push -> serialize -> NIC)", paths.SendBurst, seconds);
    Measure("echo round trip (datagrams)", paths.EchoBurst, seconds);
    Console.WriteLine($"drops: A {paths.CountersA.TotalDrops}, B {paths.CountersB.TotalDrops}");
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(InetBenchmarks).Assembly).Run(args);
return 0;

static void Measure(string name, Func<int> burst, double seconds)
{
    // Warm up so tiered JIT has settled, then measure a fixed wall-clock span.
    var warm = Stopwatch.StartNew();
    while (warm.Elapsed.TotalSeconds < Math.Min(1.0, seconds / 2))
        burst();
    long frames = 0;
    long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
    int gcBefore = GC.CollectionCount(0);
    var sw = Stopwatch.StartNew();
    while (sw.Elapsed.TotalSeconds < seconds)
    {
        for (int i = 0; i < 100; i++)
            frames += burst();
    }
    sw.Stop();
    long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
    Console.WriteLine($"{name,-36} {frames / sw.Elapsed.TotalSeconds / 1e6,7:F2} M/s  {sw.Elapsed.TotalNanoseconds / frames,7:F1} ns each  {(double)allocated / frames:F3} B/frame allocated  gen0 GCs {GC.CollectionCount(0) - gcBefore}");
}
