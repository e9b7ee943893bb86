namespace Demi.Perf;

/// <summary>A benchmark could not be set up or run (missing privileges, tools, or a server that did not start).</summary>
public sealed class PerfException(string message) : Exception(message);
