using Demi.Runtime;

namespace Demi.Hosting;

/// <summary>
/// Creates a network backend named in configuration (<see cref="DemiOptions.Backend"/>). The host
/// knows "kernel", "xdp" and "dpdk"; another transport plugs in by registering a provider with
/// <c>services.AddDemiBackend(provider)</c>, without the hosting layer knowing it.
/// </summary>
public interface IDemiBackendProvider
{
    /// <summary>The name configuration selects it by ("kernel", "xdp", "dpdk", ...).</summary>
    string Name { get; }

    /// <summary>
    /// Problems with <paramref name="options"/> for this backend, each naming its configuration key
    /// under <paramref name="sectionPath"/> (for example "Demi:Xdp:Interface is required ...").
    /// </summary>
    IEnumerable<string> Validate(DemiOptions options, string sectionPath);

    /// <summary>Creates the backend for a libOS with <paramref name="shardCount"/> shards.</summary>
    INetworkBackend Create(DemiOptions options, int shardCount, IServiceProvider services);

    /// <summary>Driver-level counters (ring overflows, invalid descriptors, ...) by reason; summed into drops and logged when they move.</summary>
    IEnumerable<KeyValuePair<string, long>> DriverErrors(INetworkBackend backend) => [];

    /// <summary>Frames received on one shard's queue and handed to the shard owning their flow.</summary>
    long SteeredFrames(INetworkBackend backend) => 0;
}
