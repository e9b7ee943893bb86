using Demi.Runtime;

namespace Demi.Hosting;

/// <summary>
/// Configuration of a hosted libOS, bound from a configuration section (by default "Demi"). Unknown
/// keys and values of the wrong type fail the host's start naming the key, as do invalid values.
/// </summary>
public sealed class DemiOptions
{
    /// <summary>The configuration section <c>AddDemi(configuration.GetSection(...))</c> conventionally binds.</summary>
    public const string SectionName = "Demi";

    /// <summary>The network backend by name: "kernel" (default, no privileges), "xdp", "dpdk", or one added with <c>AddDemiBackend</c>.</summary>
    public string Backend { get; set; } = KernelBackendProvider.BackendName;

    /// <summary>Cores to pin one shard each to, as a CPU list ("1", "0-1"); null runs <see cref="ShardCount"/> unpinned shards.</summary>
    public string? Cores { get; set; }

    /// <summary>Unpinned shards when <see cref="Cores"/> is not set.</summary>
    public int ShardCount { get; set; } = 1;

    /// <summary>What an idle shard does: "spin-then-park" (default), "spin" or "park".</summary>
    public string ShardIdle { get; set; } = "spin-then-park";

    /// <summary>Messages a shard's mailbox holds before posts fail with EAGAIN.</summary>
    public int MailboxCapacity { get; set; } = 16_384;

    /// <summary>Operations in flight at once.</summary>
    public int MaxTokens { get; set; } = 65_536;

    /// <summary>Open descriptors at once.</summary>
    public int MaxDescriptors { get; set; } = 65_536;

    /// <summary>Pooled buffers (backends without their own pool, such as kernel sockets).</summary>
    public int BufferCount { get; set; } = 16_384;

    /// <summary>Size of each pooled buffer, headroom included.</summary>
    public int BufferSize { get; set; } = 2048;

    /// <summary>
    /// Longest wait on stop for pushed data to leave before the libOS is disposed; the host's shutdown
    /// timeout bounds it too (whichever ends first).
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often dropped-frame and driver-error summaries may be logged (one line per interval at most).</summary>
    public TimeSpan DropSummaryInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Settings of the "xdp" backend.</summary>
    public DemiXdpOptions Xdp { get; set; } = new();

    /// <summary>The DPDK backend's settings (used when <see cref="Backend"/> is "dpdk").</summary>
    public DemiDpdkOptions Dpdk { get; set; } = new();

    internal IdleStrategy ParseIdle() => ShardIdle switch
    {
        "spin" => IdleStrategy.BusySpin,
        "park" => IdleStrategy.Park,
        _ => IdleStrategy.SpinThenPark,
    };

    internal LibOSOptions ToLibOSOptions(INetworkBackend backend) => new()
    {
        Backend = backend,
        Cores = Cores,
        ShardCount = ShardCount,
        ShardIdle = ParseIdle(),
        MailboxCapacity = MailboxCapacity,
        MaxTokens = MaxTokens,
        MaxDescriptors = MaxDescriptors,
        BufferCount = BufferCount,
        BufferSize = BufferSize,
    };
}

/// <summary>Settings of the AF_XDP backend (section "Demi:Xdp").</summary>
public sealed class DemiXdpOptions
{
    /// <summary>The interface whose queues the libOS takes over (required for "xdp").</summary>
    public string? Interface { get; set; }

    /// <summary>This stack's IPv4 address, optionally with a prefix ("10.0.0.1/24"; required for "xdp").</summary>
    public string? Address { get; set; }

    /// <summary>Default gateway (optional).</summary>
    public string? Gateway { get; set; }

    /// <summary>The network namespace the interface lives in (optional).</summary>
    public string? Namespace { get; set; }

    /// <summary>First NIC queue; shard i uses queue <c>FirstQueue + i</c>.</summary>
    public int FirstQueue { get; set; }

    /// <summary>"auto" (default), "native" or "generic".</summary>
    public string Mode { get; set; } = "auto";

    /// <summary>Serve TCP on the user-space stack (default true).</summary>
    public bool Tcp { get; set; } = true;
}

/// <summary>Settings of the DPDK backend (section "Demi:Dpdk"; Demikernel's catnip).</summary>
public sealed class DemiDpdkOptions
{
    /// <summary>The virtual device in EAL devargs syntax, e.g. "net_af_packet0,iface=veth0" (required for "dpdk" unless <see cref="EalArguments"/> names one).</summary>
    public string? Vdev { get; set; }

    /// <summary>This stack's IPv4 address, optionally with a prefix ("10.0.0.1/24"; required for "dpdk").</summary>
    public string? Address { get; set; }

    /// <summary>Default gateway (optional).</summary>
    public string? Gateway { get; set; }

    /// <summary>The network namespace the device's interface lives in (optional).</summary>
    public string? Namespace { get; set; }

    /// <summary>The whole EAL command line instead of the defaults (space-separated, argv0 first; optional).</summary>
    public string? EalArguments { get; set; }

    /// <summary>Serve TCP on the user-space stack (default true).</summary>
    public bool Tcp { get; set; } = true;
}
