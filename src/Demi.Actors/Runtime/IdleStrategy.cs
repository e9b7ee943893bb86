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

    /// <summary>The default: spin briefly, yield a little, then park until woken.</summary>
    public static readonly IdleStrategy SpinThenPark = new() { SpinIterations = 100, YieldIterations = 10 };

    /// <summary>Park at once (lowest CPU use).</summary>
    public static readonly IdleStrategy Park = new() { SpinIterations = 0, YieldIterations = 0 };

    /// <summary>Idle rounds spent spinning (<see cref="Thread.SpinWait"/>) before yielding.</summary>
    public int SpinIterations { get; init; }

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
