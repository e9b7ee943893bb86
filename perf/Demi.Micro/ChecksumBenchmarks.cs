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

    /// <summary>The word-at-a-time loop <see cref="InternetChecksum"/> used before it summed 32 bytes a step (the baseline).</summary>
    [Benchmark(Baseline = true)]
    public ushort Scalar()
    {
        ulong acc = 0;
        var words = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(_data);
        foreach (var word in words)
            acc += word;
        int i = words.Length * 4;
        if (i + 2 <= _data.Length)
        {
            acc += System.Runtime.InteropServices.MemoryMarshal.Read<ushort>(_data.AsSpan(i));
            i += 2;
        }
        if (i < _data.Length)
            acc += _data[i];
        acc = (acc & 0xFFFFFFFF) + (acc >> 32);
        acc = (acc & 0xFFFFFFFF) + (acc >> 32);
        uint folded = (uint)((acc & 0xFFFF) + (acc >> 16));
        folded = (folded & 0xFFFF) + (folded >> 16);
        folded = (folded & 0xFFFF) + (folded >> 16);
        return (ushort)~System.Buffers.Binary.BinaryPrimitives.ReverseEndianness((ushort)folded);
    }
}
