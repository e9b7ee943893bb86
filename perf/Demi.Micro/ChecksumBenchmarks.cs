using BenchmarkDotNet.Attributes;
using Demi.Inet;

namespace Demi.Micro;

/// <summary>
/// RFC 1071 Internet checksum over a 64 B and a 1400 B payload (UDP verifies it on every receive and
/// computes it on every send, over header and payload, since copy-mode AF_XDP offloads nothing).
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class ChecksumBenchmarks
{
    private byte[] _data = null!;

    /// <summary>Bytes summed.</summary>
    [Params(64, 1400)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Size];
        new Random(7).NextBytes(_data);
    }

    /// <summary>Add + fold + complement: what one header write or verify costs for this many bytes.</summary>
    [Benchmark]
    public ushort Compute() => InternetChecksum.Compute(_data);
}
