namespace Demi.Runtime;

/// <summary>What an idle thread does next, per <see cref="IdleStrategy"/>.</summary>
internal enum IdleStep : byte
{
    Spin,
    Yield,
    Park,
}

/// <summary>
/// The spin, then yield, then park progression of an <see cref="IdleStrategy"/>, counted in idle
/// rounds. Shared by the shard loop and app threads waiting for tokens so both idle the same way.
/// </summary>
internal struct IdleBackoff
{
    /// <summary>Spin iterations per <see cref="IdleStep.Spin"/> round (short enough to notice work within ~100 ns).</summary>
    public const int SpinPerRound = 8;

    private readonly IdleStrategy _strategy;
    private int _rounds;

    public IdleBackoff(IdleStrategy strategy)
    {
        _strategy = strategy;
        _rounds = 0;
    }

    /// <summary>Work was found: start over with spinning.</summary>
    public void Reset() => _rounds = 0;

    /// <summary>Counts one idle round and says what to do in it.</summary>
    public IdleStep Next()
    {
        if (_strategy.NeverParks || _rounds < _strategy.SpinIterations)
        {
            _rounds++;
            return IdleStep.Spin;
        }
        if (_rounds < _strategy.SpinIterations + _strategy.YieldIterations)
        {
            _rounds++;
            return IdleStep.Yield;
        }
        return IdleStep.Park; // and again every round until Reset (the shard resets after each park)
    }
}
