using BenchmarkDotNet.Attributes;
using Demi.Buffers;

namespace Demi.Micro;

/// <summary>
/// <see cref="Demi.Transport.Xdp.XdpNicQueue"/>'s ring code per frame, on in-memory rings with a fake
/// kernel (<see cref="FakeXskQueue"/>): no root and no socket needed. One operation = one frame of a
/// 32-frame burst. The fake kernel's own descriptor moves are included (a few ns per frame); the
/// kernel's packet copy and the sendto kick are not (they are the kernel's cost, see perf/README.md).
/// </summary>
[MemoryDiagnoser]
[MicroConfig]
public class XdpRingBenchmarks
{
    private const int Burst = 32;
    private const int FrameLength = 106; // 64 B UDP payload + 42 B of headers

    private FakeXskQueue _xsk = null!;
    private readonly PacketBuffer[] _frames = new PacketBuffer[Burst];

    [GlobalSetup]
    public void Setup()
    {
        _xsk = new FakeXskQueue();
        // Prime: the first Receive stocks the fill ring; check both directions move frames.
        if (ReceiveBurst() != Burst || TransmitBurst() != Burst)
            throw new InvalidOperationException("The fake AF_XDP rings did not move a full burst.");
    }

    [GlobalCleanup]
    public void Cleanup() => _xsk.Dispose();

    /// <summary>
    /// RX: the kernel posts a burst; <c>Receive</c> peeks and releases the RX ring and tops up the fill
    /// ring from the pool; the frames are then released to the pool (as a consumer would).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public int ReceiveBurst()
    {
        _xsk.Deliver(Burst, FrameLength);
        int n = _xsk.Queue.Receive(_frames);
        for (int i = 0; i < n; i++)
        {
            _frames[i].Release();
            _frames[i] = default;
        }
        return n;
    }

    /// <summary>
    /// TX: a burst of pool frames (rented as the stack does) is reserved and submitted on the TX ring;
    /// the kernel completes them; <c>Flush</c> reclaims the completion ring (frames back to the pool)
    /// and tops up the fill ring. need_wakeup is clear, so no sendto kick is made.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public int TransmitBurst()
    {
        var pool = _xsk.Pool;
        for (int i = 0; i < Burst; i++)
        {
            PacketBuffer.TryRent(pool, out _frames[i]);
            _frames[i].Append(FrameLength);
        }
        int sent = _xsk.Queue.Transmit(_frames);
        _xsk.CompleteTransmits();
        _xsk.Queue.Flush();
        Array.Clear(_frames);
        return sent;
    }

    /// <summary>The pool's rent + release pair alone (lock-free stack pop/push and the reference count), per buffer.</summary>
    [Benchmark(OperationsPerInvoke = Burst)]
    public int PoolRentRelease()
    {
        var pool = _xsk.Pool;
        for (int i = 0; i < Burst; i++)
            PacketBuffer.TryRent(pool, out _frames[i]);
        for (int i = 0; i < Burst; i++)
            _frames[i].Release();
        return Burst;
    }
}
