using System.Diagnostics;

namespace Demi.Runtime;

/// <summary>What an idle thread does next, per <see cref="IdleStrategy"/>.</summary>
internal enum IdleStep : byte
{
    Spin,
    Yield,
    Park,
}

/// <summary>
/// The spin, then yield, then park progression of an <see cref="IdleStrategy"/>: a spin phase timed
/// (<see cref="IdleStrategy.SpinTime"/>) or counted in idle rounds, then yield rounds. Shared by the
/// shard loop and app threads waiting for tokens so both idle the same way.
/// </summary>
/// <remarks>
/// A thread that reports its parks (<see cref="Parked"/>, the shard loop does) spins adaptively, as
/// KVM's halt polling does: when work came back soon after parking, a longer spin would have caught
/// it, so the spin phase doubles (up to <see cref="IdleStrategy.SpinTime"/>, or
/// <see cref="IdleStrategy.SpinIterations"/> rounds); when the park was longer than a full spin phase,
/// the spin was wasted and halves (down to 1/<see cref="MinSpinTimeDivisor"/> of it, or
/// <see cref="MinSpinRounds"/> rounds).
/// Work found while spinning leaves it as it is. Bursty arrivals (steered frames, a lightly loaded
/// server) then cost a short spin per burst instead of a full one.
/// </remarks>
internal struct IdleBackoff
{
    /// <summary>
    /// Spin iterations per <see cref="IdleStep.Spin"/> round: <c>Thread.SpinWait(8)</c> takes 250–270 ns on
    /// the 2-vCPU AMD EPYC VM of perf/README.md's seventh set of runs. No pause at all measured no faster there.
    /// A shard that busy-polls kernel sockets does not pause (its round's poll syscall is the pause; with one
    /// message in flight the pause was 22 % of an echo server's core: perf/README.md, sixteenth set).
    /// </summary>
    public const int SpinPerRound = 8;

    /// <summary>The adaptive spin phase never gets shorter than this many rounds (counted strategies).</summary>
    public const int MinSpinRounds = 4;

    /// <summary>The adaptive spin phase never gets shorter than this share of <see cref="IdleStrategy.SpinTime"/> (timed strategies).</summary>
    public const int MinSpinTimeDivisor = 16;

    private readonly IdleStrategy _strategy;
    private readonly long _fullSpinTicks;
    private int _rounds;
    private int _spinRounds;
    private long _spinTicks;
    private bool _spinOver;
    private int _yields;
    private long _idleSince;
    private long _spinEnded;

    public IdleBackoff(IdleStrategy strategy)
    {
        _strategy = strategy;
        _fullSpinTicks = strategy.NeverParks ? 0 : (long)(strategy.SpinTime.TotalSeconds * Stopwatch.Frequency);
        _rounds = 0;
        _spinRounds = strategy.SpinIterations;
        _spinTicks = _fullSpinTicks;
        _spinOver = false;
        _yields = 0;
        _idleSince = 0;
        _spinEnded = 0;
    }

    /// <summary>Rounds the spin phase lasts now, for a counted strategy (diagnostics and tests).</summary>
    public readonly int SpinRounds => _spinRounds;

    /// <summary>How long the spin phase lasts now, for a timed strategy (diagnostics and tests).</summary>
    public readonly TimeSpan SpinTime => TimeSpan.FromSeconds(_spinTicks / (double)Stopwatch.Frequency);

    private readonly bool Timed => _fullSpinTicks > 0;

    /// <summary>Work was found: start over with spinning.</summary>
    public void Reset()
    {
        _rounds = 0;
        _spinOver = false;
        _yields = 0;
    }

    /// <summary>Counts one idle round and says what to do in it.</summary>
    public IdleStep Next()
    {
        if (_strategy.NeverParks)
            return IdleStep.Spin;
        if (_rounds == 0)
            _idleSince = Stopwatch.GetTimestamp();
        if (!_spinOver)
        {
            bool spin = Timed ? Stopwatch.GetTimestamp() - _idleSince < _spinTicks : _rounds < _spinRounds;
            if (spin)
            {
                _rounds++;
                return IdleStep.Spin;
            }
            _spinOver = true;
            _spinEnded = Stopwatch.GetTimestamp();
        }
        if (_yields < _strategy.YieldIterations)
        {
            _yields++;
            _rounds++;
            return IdleStep.Yield;
        }
        return IdleStep.Park; // and again every round until Reset (the shard resets after each park)
    }

    /// <summary>
    /// The thread parked at <paramref name="parkedAt"/> and woke at <paramref name="wokeAt"/>
    /// (<see cref="Stopwatch"/> ticks): adapt the spin phase, and start over.
    /// </summary>
    public void Parked(long parkedAt, long wokeAt)
    {
        if (Timed)
        {
            // A park shorter than a full spin phase would have been covered by one: spin longer.
            _spinTicks = wokeAt - parkedAt < _fullSpinTicks
                ? Math.Min(_fullSpinTicks, _spinTicks * 2)
                : Math.Max(_fullSpinTicks / MinSpinTimeDivisor, _spinTicks / 2);
        }
        else
        {
            int full = _strategy.SpinIterations;
            if (_spinRounds > 0 && full > MinSpinRounds)
            {
                // What a full-length spin phase takes, from what this (possibly shorter) one took.
                long fullSpin = (_spinEnded - _idleSince) * full / _spinRounds;
                _spinRounds = wokeAt - parkedAt < fullSpin
                    ? Math.Min(full, _spinRounds * 2)
                    : Math.Max(MinSpinRounds, _spinRounds / 2);
            }
        }
        Reset();
    }
}
