using Demi.Kernel;
using Demi.Runtime;

namespace Demi.Hosting;

/// <summary>Linux kernel sockets: works anywhere, needs no privileges (Demikernel's catnap).</summary>
public sealed class KernelBackendProvider : IDemiBackendProvider
{
    /// <summary>The backend's configuration name.</summary>
    public const string BackendName = "kernel";

    /// <inheritdoc />
    public string Name => BackendName;

    /// <inheritdoc />
    public IEnumerable<string> Validate(DemiOptions options, string sectionPath) => [];

    /// <inheritdoc />
    public INetworkBackend Create(DemiOptions options, int shardCount, IServiceProvider services) => new KernelBackend();
}
