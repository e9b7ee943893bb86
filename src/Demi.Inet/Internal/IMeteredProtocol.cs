using System.Diagnostics.Metrics;

namespace Demi.Inet.Internal;

/// <summary>A transport that publishes its counters on the stack's "Demi.Inet" meter when it is registered.</summary>
internal interface IMeteredProtocol
{
    /// <summary>Creates the transport's observable instruments on <paramref name="meter"/>, each measurement tagged with <paramref name="stackTag"/>.</summary>
    void PublishMetrics(Meter meter, KeyValuePair<string, object?> stackTag);
}
