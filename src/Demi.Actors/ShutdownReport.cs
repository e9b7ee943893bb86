namespace Demi;

/// <summary>What <see cref="LibOS.Dispose"/> did with the connections that were still finishing when it closed them.</summary>
/// <param name="Drained">Connections that finished (every pushed byte and the FIN acknowledged; the peer's FIN seen unless the timeout passed first).</param>
/// <param name="Reset">Connections still unfinished at the timeout, reset (their unacknowledged bytes are lost).</param>
public sealed record ShutdownReport(int Drained, int Reset);
