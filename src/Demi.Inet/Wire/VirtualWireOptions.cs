namespace Demi.Inet.Wire;

/// <summary>Impairments and sizes of a <see cref="VirtualWire"/>. All randomness comes from <see cref="Seed"/>.</summary>
public sealed class VirtualWireOptions
{
    /// <summary>Seed of the wire's random choices: the same seed and the same calls give the same outcome.</summary>
    public int Seed { get; set; } = 1;

    /// <summary>Probability that a frame is lost.</summary>
    public double LossRate { get; set; }

    /// <summary>Probability that a frame is delivered twice.</summary>
    public double DuplicateRate { get; set; }

    /// <summary>Probability that a frame is held back by up to <see cref="ReorderWindowMicroseconds"/> extra, so later frames overtake it.</summary>
    public double ReorderRate { get; set; }

    /// <summary>Largest extra delay of a reordered frame.</summary>
    public long ReorderWindowMicroseconds { get; set; } = 1000;

    /// <summary>One-way delay of every frame, by the wire's clock.</summary>
    public long DelayMicroseconds { get; set; }

    /// <summary>Clock that decides when delayed frames arrive; tests use a <see cref="ManualInetClock"/>.</summary>
    public InetClock Clock { get; set; } = InetClock.System;

    /// <summary>Size of each port's buffers.</summary>
    public int BufferSize { get; set; } = 2048;

    /// <summary>Buffers in each port's pool.</summary>
    public int BufferCount { get; set; } = 4096;

    /// <summary>Headroom of each port's buffers (room for headers in front of a payload).</summary>
    public int Headroom { get; set; } = 128;

    /// <summary>Largest IPv4 packet a port carries.</summary>
    public int Mtu { get; set; } = 1500;

    /// <summary>Frames a port's receive side holds before the wire drops more (a full RX ring).</summary>
    public int ReceiveCapacity { get; set; } = 4096;
}
