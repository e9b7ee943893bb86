using System.Diagnostics;

namespace Demi.Inet;

/// <summary>
/// The stack's notion of time, in microseconds. Timers (ARP, TCP) read it so that tests can run
/// them on a virtual clock (<see cref="ManualInetClock"/>) instead of the wall clock.
/// </summary>
public abstract class InetClock
{
    /// <summary>The wall clock (monotonic).</summary>
    public static readonly InetClock System = new SystemInetClock();

    /// <summary>Monotonic time in microseconds.</summary>
    public abstract long NowMicroseconds { get; }

    private sealed class SystemInetClock : InetClock
    {
        public override long NowMicroseconds => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);
    }
}

/// <summary>A clock that moves only when told to, for deterministic tests.</summary>
public sealed class ManualInetClock : InetClock
{
    private long _now;

    public ManualInetClock(long startMicroseconds = 1_000_000) => _now = startMicroseconds;

    public override long NowMicroseconds => Volatile.Read(ref _now);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)(by.TotalMilliseconds * 1000));

    public void AdvanceMicroseconds(long microseconds) => Interlocked.Add(ref _now, microseconds);
}
