namespace Demi.Transport.Xdp;

/// <summary>
/// What the impairing relay (<see cref="VethOptions.Impairment"/>) does to every frame it forwards,
/// independently in each direction (this kernel has no netem). Fractions are probabilities per frame,
/// drawn from a generator seeded with <see cref="Seed"/> (A→B) and <see cref="Seed"/> + 1 (B→A), so a
/// run is reproducible up to the timing of the frames themselves.
/// </summary>
public sealed class ImpairmentOptions
{
    /// <summary>Seed of the per-direction random generators.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Fraction of frames dropped.</summary>
    public double Loss { get; init; }

    /// <summary>Fraction of frames held back by <see cref="ReorderDelay"/> on top of <see cref="Delay"/>, so later frames overtake them.</summary>
    public double Reorder { get; init; }

    /// <summary>Fraction of frames sent twice.</summary>
    public double Duplicate { get; init; }

    /// <summary>Delay added to every frame.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>Extra delay of a reordered frame.</summary>
    public TimeSpan ReorderDelay { get; init; } = TimeSpan.FromMilliseconds(2);
}
