namespace Demi.Transport.Xdp;

/// <summary>One probed fact of <see cref="MachineDoctor"/>.</summary>
/// <param name="Name">What was checked.</param>
/// <param name="Ok">Whether it is satisfied.</param>
/// <param name="Detail">What was found, or why not and what to do.</param>
/// <param name="Required">Whether the backend cannot run without it (otherwise it is advice).</param>
public sealed record DoctorCheck(string Name, bool Ok, string Detail, bool Required = true);
