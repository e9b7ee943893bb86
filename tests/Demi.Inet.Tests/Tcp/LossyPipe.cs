using Demi.Buffers;
using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// Two TCP layers joined back to back through a deterministic (seeded) pipe that can drop,
/// delay (reorder) and duplicate segments, on one virtual clock. The event loop delivers due
/// segments, runs due timers, lets the test's application code run, and jumps the clock to the
/// next event when idle, so minutes of protocol time take milliseconds.
/// </summary>
internal sealed class LossyPipe : IDisposable
{
    public static readonly Ipv4Address AddressA = Ipv4Address.Parse("10.1.0.1");
    public static readonly Ipv4Address AddressB = Ipv4Address.Parse("10.1.0.2");

    private readonly PriorityQueue<InFlight, (long, long)> _queue = new();
    private readonly Random _random;
    private long _order;

    public readonly BufferPool Pool;
    public readonly ManualInetClock Clock = new();
    public readonly TestIpLayer IpA;
    public readonly TestIpLayer IpB;
    public readonly TcpLayer A;
    public readonly TcpLayer B;

    /// <summary>Probability that a segment is lost.</summary>
    public double Loss;
    /// <summary>Probability that a segment is delayed by up to <see cref="ReorderDelayMicroseconds"/> extra (and so overtaken).</summary>
    public double Reorder;
    /// <summary>Probability that a segment is delivered twice.</summary>
    public double Duplicate;
    public long LatencyMicroseconds = 1000;
    public long ReorderDelayMicroseconds = 3000;
    /// <summary>When true everything is dropped (a peer that vanished).</summary>
    public bool Blackhole;

    public long Delivered;
    public long Dropped;
    public long Duplicated;

    private struct InFlight
    {
        public TcpLayer To;
        public Ipv4Address Source;
        public Ipv4Address Destination;
        public PacketBuffer Segment;
    }

    public LossyPipe(int seed, TcpConfig? configA = null, TcpConfig? configB = null, int poolBuffers = 8192)
    {
        _random = new Random(seed);
        Pool = new BufferPool(2048, poolBuffers, 128);
        IpA = new TestIpLayer(Pool, Clock, AddressA);
        IpB = new TestIpLayer(Pool, Clock, AddressB);
        A = new TcpLayer(IpA, configA ?? new TcpConfig { RandomSeed = seed });
        B = new TcpLayer(IpB, configB ?? new TcpConfig { RandomSeed = seed + 1 });
        IpA.Sink = (dst, seg) => Enqueue(B, AddressA, dst, seg);
        IpB.Sink = (dst, seg) => Enqueue(A, AddressB, dst, seg);
    }

    private void Enqueue(TcpLayer to, Ipv4Address source, Ipv4Address destination, PacketBuffer segment)
    {
        if (Blackhole || (Loss > 0 && _random.NextDouble() < Loss))
        {
            Dropped++;
            segment.Release();
            return;
        }
        long now = Clock.NowMicroseconds;
        if (Duplicate > 0 && _random.NextDouble() < Duplicate && PacketBuffer.TryRent(Pool, out var copy))
        {
            segment.Span.CopyTo(copy.Append(segment.Length));
            Duplicated++;
            Push(to, source, destination, copy, now + Delay());
        }
        Push(to, source, destination, segment, now + Delay());
    }

    private long Delay()
        => LatencyMicroseconds + (Reorder > 0 && _random.NextDouble() < Reorder ? _random.NextInt64(1, ReorderDelayMicroseconds) : 0);

    private void Push(TcpLayer to, Ipv4Address source, Ipv4Address destination, PacketBuffer segment, long at)
        => _queue.Enqueue(new InFlight { To = to, Source = source, Destination = destination, Segment = segment }, (at, _order++));

    public int InFlightCount => _queue.Count;

    /// <summary>
    /// Runs the loop until <paramref name="done"/> is true (checked after each step), calling
    /// <paramref name="app"/> every step. Returns false when virtual time ran past the limit or
    /// nothing was left to happen.
    /// </summary>
    public bool Run(Func<bool> done, Action? app = null, long maxVirtualMicroseconds = 600_000_000)
    {
        long limit = Clock.NowMicroseconds + maxVirtualMicroseconds;
        while (true)
        {
            long now = Clock.NowMicroseconds;
            // Deliver a burst of due segments.
            int burst = 0;
            while (burst < 64 && _queue.TryPeek(out var item, out var key) && key.Item1 <= now)
            {
                _queue.Dequeue();
                Delivered++;
                item.To.Receive(item.Source, item.Destination, item.Segment, checksumVerified: false);
                burst++;
            }
            if (A.NextDeadline <= now)
                A.OnTimer(now);
            if (B.NextDeadline <= now)
                B.OnTimer(now);
            app?.Invoke();
            if (done())
                return true;
            if (_queue.TryPeek(out _, out var nextKey) && nextKey.Item1 <= now)
                continue;
            long next = Math.Min(Math.Min(A.NextDeadline, B.NextDeadline), _queue.TryPeek(out _, out var k) ? k.Item1 : long.MaxValue);
            if (next == long.MaxValue || next > limit)
                return false;
            if (next > now)
                Clock.AdvanceMicroseconds(next - now);
        }
    }

    /// <summary>Runs for a stretch of virtual time (timers fire, segments flow).</summary>
    public void RunFor(long microseconds, Action? app = null)
    {
        long end = Clock.NowMicroseconds + microseconds;
        Run(() => Clock.NowMicroseconds >= end, app, microseconds + 1);
        if (Clock.NowMicroseconds < end)
            Clock.AdvanceMicroseconds(end - Clock.NowMicroseconds);
    }

    /// <summary>Releases segments still in flight.</summary>
    public void DrainInFlight()
    {
        while (_queue.TryDequeue(out var item, out _))
            item.Segment.Release();
    }

    public void Dispose()
    {
        DrainInFlight();
        Pool.Dispose();
    }
}
