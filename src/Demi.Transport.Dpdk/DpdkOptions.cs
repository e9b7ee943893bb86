using System.Globalization;

namespace Demi.Transport.Dpdk;

/// <summary>
/// How to start DPDK and which port to drive. By default the EAL runs without hugepages
/// (<c>--no-huge --no-shconf -m 256 --no-pci --iova-mode=va</c>, a file prefix unique to the
/// process) and <see cref="Vdev"/> is attached as a virtual device inside
/// <see cref="NetworkNamespace"/>. <see cref="EalArguments"/> replaces the generated arguments
/// (Demikernel's <c>dpdk.eal_init</c>: argv0 first); the port is then the first one the EAL made.
/// </summary>
public sealed class DpdkOptions
{
    /// <summary>Default mbuf data room (headroom included): DPDK's RTE_MBUF_DEFAULT_BUF_SIZE.</summary>
    public const int DefaultBufferSize = 2048 + Headroom;

    /// <summary>RTE_PKTMBUF_HEADROOM: room in front of the data for headers pushed in place.</summary>
    public const int Headroom = 128;

    /// <summary>
    /// The virtual device, in EAL <c>--vdev</c> syntax: <c>net_af_packet0,iface=veth0</c> (the default
    /// kind here), <c>net_af_xdp0,iface=veth0</c>, <c>net_tap0</c>, <c>net_ring0</c> (which loops back to
    /// itself; <see cref="DpdkRingPair"/> connects two ports). <c>qpairs</c> /
    /// <c>queue_count</c> are added for several shards when not given. Null with <see cref="EalArguments"/>
    /// that name their own <c>--vdev</c>.
    /// </summary>
    public string? Vdev { get; init; }

    /// <summary>
    /// An Ethernet port the EAL already has, driven instead of attaching <see cref="Vdev"/>: a side of a
    /// <see cref="DpdkRingPair"/>, or a port the EAL made from <see cref="EalArguments"/>' <c>--vdev</c>.
    /// Null: <see cref="Vdev"/> when given, else port 0. Disposing the backend stops the port and leaves it
    /// attached (its owner closes it).
    /// </summary>
    public int? PortId { get; init; }

    /// <summary>The network namespace (a name under /run/netns) the interface lives in; null for the current one.</summary>
    public string? NetworkNamespace { get; init; }

    /// <summary>Full EAL argv (argv0 first), used as is instead of the generated arguments; null to generate them.</summary>
    public IReadOnlyList<string>? EalArguments { get; init; }

    /// <summary>The EAL main lcore (<c>-l</c>). The EAL pins the thread that initialises it there; Demi uses a throw-away thread.</summary>
    public int MainCore { get; init; }

    /// <summary>Megabytes of memory the EAL reserves (<c>-m</c>): mbuf headers and PMD rings; frames live in Demi's own region.</summary>
    public int MemoryMegabytes { get; init; } = 256;

    /// <summary>Use hugepages instead of anonymous memory (the machine must have some reserved).</summary>
    public bool UseHugepages { get; init; }

    /// <summary>The EAL <c>--file-prefix</c>; null for <c>demi-PID</c>.</summary>
    public string? FilePrefix { get; init; }

    /// <summary>Number of mbufs (= buffers of the pool <c>SgaAlloc</c> serves).</summary>
    public int PoolSize { get; init; } = 8192;

    /// <summary>
    /// Mbufs each shard thread may keep in its own cache of the mempool (DPDK's per-lcore cache; the
    /// shard thread registers as an lcore for it), so that the PMDs' per-packet allocations and frees
    /// skip the shared ring. 0 turns it off. Not used on a port opened by <see cref="PortId"/> (an
    /// in-process ring pair hands mbufs between threads of two libOSes). At most
    /// <see cref="MaxMempoolCacheSize"/>, and two thirds of <see cref="PoolSize"/>.
    /// </summary>
    public int MempoolCacheSize { get; init; } = 256;

    /// <summary>DPDK's largest per-lcore mempool cache (<c>RTE_MEMPOOL_CACHE_MAX_SIZE</c>).</summary>
    public const int MaxMempoolCacheSize = 512;

    /// <summary>Bytes per buffer, headroom included.</summary>
    public int BufferSize { get; init; } = DefaultBufferSize;

    /// <summary>RX descriptors per queue (adjusted to the device's limits).</summary>
    public int RxDescriptors { get; init; } = 1024;

    /// <summary>TX descriptors per queue (adjusted to the device's limits).</summary>
    public int TxDescriptors { get; init; } = 1024;

    /// <summary>MTU to set (and verify) on the port; null keeps the device's.</summary>
    public int? Mtu { get; init; }

    /// <summary>How long to wait for the link to come up after starting the port.</summary>
    public TimeSpan LinkUpTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Use the device's IPv4/UDP/TCP checksum offloads when it offers them.</summary>
    public bool ChecksumOffload { get; init; } = true;

    /// <summary>The EAL arguments these options stand for (vdevs are attached afterwards, in their namespace).</summary>
    public IReadOnlyList<string> BuildEalArguments()
    {
        if (EalArguments is { Count: > 0 } given)
            return given;
        var args = new List<string>
        {
            "demi",
            "-l", MainCore.ToString(CultureInfo.InvariantCulture),
            "-m", MemoryMegabytes.ToString(CultureInfo.InvariantCulture),
            "--no-pci",
            "--no-telemetry",
            "--iova-mode=va",
            "--file-prefix=" + (FilePrefix ?? $"demi-{Environment.ProcessId}"),
            // EAL and PMD chatter goes to stdout; keep warnings and errors.
            "--log-level=*:warning",
        };
        // --no-huge means legacy memory, which --in-memory refuses; --no-shconf keeps it from writing
        // a shared configuration (there are no secondary processes).
        if (UseHugepages)
            args.InsertRange(5, ["--in-memory"]);
        else
            args.InsertRange(5, ["--no-huge", "--no-shconf"]);
        return args;
    }
}
