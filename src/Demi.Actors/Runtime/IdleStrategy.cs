namespace Demi.Runtime;

/// <summary>
/// What a thread does while it has nothing to do: a shard with an empty mailbox and no I/O, or an
/// app thread in <c>Wait</c>. Spinning gives the lowest latency and burns a core; parking costs a
/// wake-up (microseconds) and burns nothing.
/// </summary>
public sealed record IdleStrategy
{
    /// <summary>Never sleep: lowest latency, one core at 100%.</summary>
    public static readonly IdleStrategy BusySpin = new() { SpinIterations = int.MaxValue, YieldIterations = 0 };

    /// <summary>
    /// The default: spin up to 100 µs (less after parks that the spin did not catch), yield a little,
    /// then park until woken. The spin phase is timed, not counted in rounds, because a round's cost
    /// depends on the backend: an AF_XDP or DPDK round peeks at rings in user space, a kernel-socket round
    /// makes a syscall, and the 100 rounds this strategy used to count spun for much less time on the
    /// first (perf/README.md, "Eleventh set of runs"). KVM's halt polling makes the same trade in time
    /// (<c>halt_poll_ns</c>).
    /// </summary>
    public static readonly IdleStrategy SpinThenPark = new() { SpinTime = TimeSpan.FromMicroseconds(100), YieldIterations = 10 };

    /// <summary>Park at once (lowest CPU use).</summary>
    public static readonly IdleStrategy Park = new() { SpinIterations = 0, YieldIterations = 0 };

    /// <summary>
    /// Idle rounds spent spinning before yielding, when <see cref="SpinTime"/> is zero. A spinning round
    /// pauses briefly (<see cref="Thread.SpinWait"/>), except on a shard that busy-polls kernel sockets:
    /// there the round's own poll syscall is the pause, and one more would only see the next datagram later.
    /// </summary>
    public int SpinIterations { get; init; }

    /// <summary>
    /// How long the spin phase lasts at most, whatever an idle round costs (zero: count
    /// <see cref="SpinIterations"/> rounds instead). A shard that reports its parks shortens it after
    /// parks that outlast it and lengthens it again after parks it would have covered.
    /// </summary>
    public TimeSpan SpinTime { get; init; }

    /// <summary>Idle rounds spent in <see cref="Thread.Yield"/> before parking.</summary>
    public int YieldIterations { get; init; }

    /// <summary>True when this strategy never parks.</summary>
    public bool NeverParks => SpinIterations == int.MaxValue;

    /// <summary>Parses "spin", "park" or "spin-then-park" (the CLI's spelling).</summary>
    public static IdleStrategy Parse(string text) => text.ToLowerInvariant() switch
    {
        "spin" or "busy-spin" => BusySpin,
        "park" => Park,
        "spin-then-park" or "default" => SpinThenPark,
        _ => throw new FormatException($"Unknown idle strategy '{text}': use spin, park or spin-then-park."),
    };
}
