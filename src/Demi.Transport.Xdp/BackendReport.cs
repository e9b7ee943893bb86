namespace Demi.Transport.Xdp;

/// <summary>Whether this machine can run one backend, and the checks behind the verdict.</summary>
/// <param name="Backend">"kernel", "xdp" or "dpdk".</param>
/// <param name="Checks">The facts probed.</param>
public sealed record BackendReport(string Backend, IReadOnlyList<DoctorCheck> Checks)
{
    /// <summary>True when every required check passed.</summary>
    public bool Available => Checks.All(c => c.Ok || !c.Required);

    /// <summary>The failed required checks' details, joined (empty when available).</summary>
    public string WhyNot => string.Join("; ", Checks.Where(c => c.Required && !c.Ok).Select(c => $"{c.Name}: {c.Detail}"));
}
