namespace Demi;

/// <summary>What <see cref="LibOS.Dispose"/> did with the connections that were still finishing when it closed them.</summary>
/// <param name="Drained">Connections that finished within the drain timeout (every pushed byte acknowledged, FIN sent).</param>
/// <param name="Reset">Connections still unfinished at the timeout, reset (their unacknowledged bytes are lost).</param>
public sealed record ShutdownReport(int Drained, int Reset);
