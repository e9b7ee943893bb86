using BenchmarkDotNet.Attributes;

namespace Demi.Micro;

/// <summary>BenchmarkDotNet view of <see cref="InetPaths"/>: time and allocation per frame (one operation = one frame).</summary>
[MemoryDiagnoser]
public class InetBenchmarks
{
    private InetPaths _paths = null!;

    [GlobalSetup]
    public void Setup() => _paths = new InetPaths();

    [GlobalCleanup]
    public void Cleanup() => _paths.Dispose();

    /// <summary>The stack alone (replay NIC): parse → socket → pop, per frame.</summary>
    [Benchmark(OperationsPerInvoke = InetPaths.Burst)]
    public int StackReceive() => _paths.StackReceiveBurst();

    /// <summary>The stack alone (replay NIC): push → headers and checksums → NIC, per frame.</summary>
    [Benchmark(OperationsPerInvoke = InetPaths.Burst)]
    public int StackSend() => _paths.StackSendBurst();

    [Benchmark(OperationsPerInvoke = InetPaths.Burst)]
    public int Receive() => _paths.ReceiveBurst();

    [Benchmark(OperationsPerInvoke = InetPaths.Burst)]
    public int Send() => _paths.SendBurst();

    /// <summary>One operation = one datagram's round trip (4 frame traversals: A tx, B rx, B tx, A rx).</summary>
    [Benchmark(OperationsPerInvoke = InetPaths.Burst)]
    public int Echo() => _paths.EchoBurst();
}
