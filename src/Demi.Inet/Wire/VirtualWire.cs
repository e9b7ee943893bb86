namespace Demi.Inet.Wire;

/// <summary>
/// An in-memory Ethernet segment joining several <see cref="VirtualNicQueue"/> ports, like a learning-free
/// switch: a unicast frame goes to the port with that MAC (or every other port if none has it),
/// broadcast and multicast to every other port. Frames are copied into the receiving port's pool (as
/// DMA would) and may be dropped, duplicated, reordered and delayed, deterministically from a seed.
/// Ports may be driven from different threads; the wire serialises on a lock (it models hardware,
/// so this is not the stack's per-packet path).
/// </summary>
public sealed class VirtualWire : IDisposable
{
    private readonly List<VirtualNicQueue> _ports = new();
    private readonly Lock _lock = new();
    private ulong _rng;
    private long _sequence;

    /// <summary>Creates a wire.</summary>
    public VirtualWire(VirtualWireOptions? options = null)
    {
        Options = options ?? new VirtualWireOptions();
        _rng = (ulong)Options.Seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E019UL;
    }

    /// <summary>The wire's settings; impairment rates may be changed between calls.</summary>
    public VirtualWireOptions Options { get; }

    /// <summary>Frames lost on purpose.</summary>
    public long Lost { get; private set; }

    /// <summary>Extra copies delivered.</summary>
    public long Duplicated { get; private set; }

    /// <summary>Frames held back for reordering.</summary>
    public long Reordered { get; private set; }

    /// <summary>Frames dropped because a receiving port was full or out of buffers.</summary>
    public long Overflowed { get; private set; }

    /// <summary>Frames delivered into a port's receive queue.</summary>
    public long Delivered { get; private set; }

    /// <summary>Adds a port with its own buffer pool.</summary>
    public VirtualNicQueue CreatePort(MacAddress mac)
    {
        lock (_lock)
        {
            var port = new VirtualNicQueue(this, mac, Options);
            _ports.Add(port);
            return port;
        }
    }

    internal void Carry(VirtualNicQueue from, ReadOnlySpan<byte> frame)
    {
        lock (_lock)
        {
            if (Options.LossRate > 0 && NextDouble() < Options.LossRate)
            {
                Lost++;
                return;
            }
            int copies = 1;
            if (Options.DuplicateRate > 0 && NextDouble() < Options.DuplicateRate)
            {
                copies = 2;
                Duplicated++;
            }
            // A runt without a whole destination address is flooded like an unknown one.
            var destination = frame.Length >= 6 ? MacAddress.Read(frame) : MacAddress.Broadcast;
            VirtualNicQueue? target = null;
            if (!destination.IsMulticast)
            {
                foreach (var port in _ports)
                    if (port != from && !port.IsDisposed && port.MacAddress == destination)
                        target = port;
            }
            long now = Options.Clock.NowMicroseconds;
            for (int c = 0; c < copies; c++)
            {
                long deliverAt = now + Options.DelayMicroseconds;
                if (Options.ReorderRate > 0 && NextDouble() < Options.ReorderRate)
                {
                    deliverAt += 1 + (long)(NextDouble() * Options.ReorderWindowMicroseconds);
                    Reordered++;
                }
                if (target is not null)
                {
                    Deliver(target, frame, deliverAt);
                    continue;
                }
                foreach (var port in _ports)
                    if (port != from && !port.IsDisposed)
                        Deliver(port, frame, deliverAt);
            }
        }
    }

    private void Deliver(VirtualNicQueue port, ReadOnlySpan<byte> frame, long deliverAt)
    {
        if (port.Enqueue(frame, deliverAt, _sequence++))
            Delivered++;
        else
            Overflowed++;
    }

    internal int Take(VirtualNicQueue port, Span<Demi.Buffers.PacketBuffer> frames)
    {
        lock (_lock)
            return port.Dequeue(frames, Options.Clock.NowMicroseconds);
    }

    // xorshift64*: small, fast, and the same sequence on every platform for a given seed.
    private double NextDouble()
    {
        _rng ^= _rng >> 12;
        _rng ^= _rng << 25;
        _rng ^= _rng >> 27;
        return ((_rng * 0x2545F4914F6CDD1DUL) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Disposes every port.</summary>
    public void Dispose()
    {
        VirtualNicQueue[] ports;
        lock (_lock)
            ports = _ports.ToArray();
        foreach (var port in ports)
            port.Dispose();
    }
}
