using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Demi.Inet;
using Demi.Transport.Dpdk.Internal;
using Demi.Transport.Xdp;

namespace Demi.Transport.Dpdk;

/// <summary>
/// One DPDK Ethernet port, configured with one RX/TX queue pair per shard and started. Offload and
/// RSS requests are masked against the device's capabilities (virtual PMDs reject bits they lack);
/// TX checksum offload is used when offered; the MTU is set and read back; the link-up wait is
/// bounded. Disposing stops the port, and detaches it when Demi attached it.
/// </summary>
public sealed unsafe class DpdkPort : IDisposable
{
    private readonly bool _attached;
    private readonly string? _networkNamespace;
    private int _disposed;

    private DpdkPort(ushort id, string name, bool attached, string? networkNamespace)
    {
        Id = id;
        Name = name;
        _attached = attached;
        _networkNamespace = networkNamespace;
    }

    /// <summary>The DPDK port id.</summary>
    public ushort Id { get; }

    /// <summary>The device name (<c>net_af_packet0</c>, ...).</summary>
    public string Name { get; }

    /// <summary>The PMD's driver name.</summary>
    public string Driver { get; private set; } = "";

    /// <summary>The port's MAC address.</summary>
    public MacAddress MacAddress { get; private set; }

    /// <summary>The MTU as read back from the device after configuration.</summary>
    public int Mtu { get; private set; }

    /// <summary>RX/TX queue pairs configured.</summary>
    public int QueueCount { get; private set; }

    /// <summary>RX descriptors per queue after the device's adjustment.</summary>
    public int RxDescriptors { get; private set; }

    /// <summary>RX offload bits in use (requested ∩ offered).</summary>
    public ulong RxOffloads { get; private set; }

    /// <summary>TX offload bits in use (requested ∩ offered).</summary>
    public ulong TxOffloads { get; private set; }

    /// <summary>RSS hash functions in use (requested ∩ offered; 0 with one queue or when the device has none).</summary>
    public ulong RssHashFunctions { get; private set; }

    /// <summary>Whether the device computes IPv4/UDP/TCP checksums on TX (all three offered and enabled).</summary>
    public bool TxChecksumOffload => (TxOffloads & DpdkNative.TxChecksumOffloads) == DpdkNative.TxChecksumOffloads;

    /// <summary>
    /// The port for <paramref name="options"/>: <see cref="DpdkOptions.Vdev"/> attached now in its
    /// namespace (with <c>qpairs</c>/<c>queue_count</c> added for several queues), or the existing port
    /// <see cref="DpdkOptions.PortId"/> (a <see cref="DpdkRingPair"/> side), or else port 0, the first the
    /// EAL made from <see cref="DpdkOptions.EalArguments"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Both <see cref="DpdkOptions.Vdev"/> and <see cref="DpdkOptions.PortId"/> are given.</exception>
    public static DpdkPort Open(DpdkOptions options, int queues)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Vdev is { Length: > 0 } vdev)
        {
            if (options.PortId is not null)
                throw new ArgumentException("DpdkOptions: give a Vdev to attach or the PortId of an existing port, not both.", nameof(options));
            string devargs = WithQueueCount(vdev, queues);
            ushort id = DpdkEal.AttachVdev(devargs, options.NetworkNamespace);
            return new DpdkPort(id, devargs.Split(',')[0], attached: true, options.NetworkNamespace);
        }
        if (options.PortId is int given)
        {
            if (given is < 0 or >= ushort.MaxValue || PortName((ushort)given) is not { } name)
                throw new DpdkException($"the DPDK EAL has no Ethernet port {given}", 19);
            return new DpdkPort((ushort)given, name, attached: false, options.NetworkNamespace);
        }
        if (DpdkNative.demi_dpdk_port_count() == 0 || PortName(0) is not { } first)
            throw new DpdkException("the DPDK EAL has no Ethernet port: give a vdev (--vdev net_af_packet0,iface=IF) or a --vdev in the EAL arguments", 19);
        return new DpdkPort(0, first, attached: false, options.NetworkNamespace);
    }

    private static string WithQueueCount(string vdev, int queues)
    {
        if (queues <= 1)
            return vdev;
        string driver = vdev.Split(',')[0].TrimEnd("0123456789".ToCharArray());
        string q = queues.ToString(CultureInfo.InvariantCulture);
        return driver switch
        {
            "net_af_packet" when !vdev.Contains("qpairs=", StringComparison.Ordinal) => vdev + ",qpairs=" + q,
            "net_af_xdp" when !vdev.Contains("queue_count=", StringComparison.Ordinal) => vdev + ",queue_count=" + q,
            "net_ring" when !vdev.Contains("nodeaction", StringComparison.Ordinal) => vdev,
            _ => vdev,
        };
    }

    /// <summary>The device name of <paramref name="port"/>; null when the EAL has no such port.</summary>
    private static string? PortName(ushort port)
    {
        byte* name = stackalloc byte[64];
        return DpdkNative.demi_dpdk_port_name(port, name, 64) == 0 ? Marshal.PtrToStringUTF8((nint)name) ?? "?" : null;
    }

    /// <summary>The PMD's driver name, read from the device before it is configured.</summary>
    public string QueryDriver()
    {
        DpdkNative.PortInfo info;
        Check(DpdkNative.demi_dpdk_port_info(Id, &info), "rte_eth_dev_info_get");
        return Marshal.PtrToStringUTF8((nint)info.Driver) ?? "?";
    }

    /// <summary>
    /// Configures <paramref name="queues"/> queue pairs receiving into <paramref name="pool"/> (or into
    /// <paramref name="rxMempool"/>, a driver-owned pool, when not 0), starts the port and waits for the link.
    /// </summary>
    public void Start(DpdkMbufPool pool, int queues, DpdkOptions options, nint rxMempool = 0)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(options);
        DpdkNative.PortInfo before;
        Check(DpdkNative.demi_dpdk_port_info(Id, &before), "rte_eth_dev_info_get");
        if (queues > before.MaxRxQueues || queues > before.MaxTxQueues)
            throw new DpdkException(
                $"DPDK port {Name} has {before.MaxRxQueues} RX / {before.MaxTxQueues} TX queues, {queues} shards need {queues} of each " +
                "(net_af_packet: qpairs=N; net_af_xdp: queue_count=N, and the interface needs N queues; a ring pair: DpdkRingPair.Create(name, N))", 22);
        ulong tx = options.ChecksumOffload ? DpdkNative.TxChecksumOffloads : 0;
        ulong rss = queues > 1 ? DpdkNative.demi_dpdk_rss_default() : 0;
        DpdkNative.PortInfo info;
        byte* stage;
        int rc = DpdkNative.demi_dpdk_port_start(Id, (ushort)queues, (ushort)options.RxDescriptors, (ushort)options.TxDescriptors,
            rxMempool != 0 ? rxMempool : pool.Mempool, (ushort)(options.Mtu ?? 0), 0, tx, rss, 1, &info, &stage);
        if (rc != 0)
            throw new DpdkException($"DPDK port {Name}: {Marshal.PtrToStringUTF8((nint)stage)} failed: {DpdkNative.StrError(-rc)} (errno {-rc})", -rc);
        Driver = Marshal.PtrToStringUTF8((nint)info.Driver) ?? "?";
        MacAddress = MacAddress.Read(new ReadOnlySpan<byte>(info.Mac, 6));
        Mtu = info.Mtu;
        QueueCount = queues;
        RxDescriptors = info.RxDesc;
        RxOffloads = info.RxOffloads;
        TxOffloads = info.TxOffloads;
        RssHashFunctions = info.RssHf;
        if (options.Mtu is int mtu && Mtu != mtu)
            throw new DpdkException($"DPDK port {Name}: MTU {mtu} was set but the device reports {Mtu}", 22);
        WaitForLink(options.LinkUpTimeout);
    }

    private void WaitForLink(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            int up = DpdkNative.demi_dpdk_link_up(Id);
            if (up == 1)
                return;
            // Some virtual PMDs cannot report link state (-ENOTSUP): nothing to wait for.
            if (up < 0)
                return;
            if (clock.Elapsed >= timeout)
                throw new DpdkException($"DPDK port {Name}: link still down after {timeout.TotalSeconds:0.#} s (is the interface, or its veth peer, up?)", 100);
            Thread.Sleep(20);
        }
    }

    /// <summary>The device's counters (one control-path call).</summary>
    public DpdkPortStatistics GetStatistics()
    {
        DpdkNative.PortStats s;
        if (DpdkNative.demi_dpdk_port_stats(Id, &s) != 0)
            return new DpdkPortStatistics();
        return new DpdkPortStatistics
        {
            RxPackets = (long)s.IPackets,
            TxPackets = (long)s.OPackets,
            RxBytes = (long)s.IBytes,
            TxBytes = (long)s.OBytes,
            RxMissed = (long)s.IMissed,
            RxErrors = (long)s.IErrors,
            TxErrors = (long)s.OErrors,
            RxNoMbuf = (long)s.RxNoMbuf,
        };
    }

    private void Check(int rc, string what)
    {
        if (rc != 0)
            throw new DpdkException($"DPDK port {Name}: {what} failed: {DpdkNative.StrError(Math.Abs(rc))}", Math.Abs(rc));
    }

    /// <inheritdoc/>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Name} (port {Id}, {Driver}, {MacAddress}, MTU {Mtu}, {QueueCount} queue pair(s)");
        if (TxChecksumOffload)
            sb.Append(", TX checksum offload");
        sb.Append(')');
        return sb.ToString();
    }

    /// <summary>Stops the port; closes and detaches it if Demi attached it.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        // PMDs reach their interface by name or index on stop and close (af_xdp detaches its XDP program
        // by ifindex): in another namespace that would be another device.
        using var scope = _networkNamespace is null ? null : NetworkNamespaceScope.Enter(_networkNamespace);
        if (_attached)
            DpdkNative.demi_dpdk_port_stop(Id);
        else
            DpdkNative.demi_dpdk_port_pause(Id);
    }
}

/// <summary>A port's device counters (rte_eth_stats).</summary>
public sealed record DpdkPortStatistics
{
    /// <summary>Frames received.</summary>
    public long RxPackets { get; init; }
    /// <summary>Frames sent.</summary>
    public long TxPackets { get; init; }
    /// <summary>Bytes received.</summary>
    public long RxBytes { get; init; }
    /// <summary>Bytes sent.</summary>
    public long TxBytes { get; init; }
    /// <summary>Frames the device dropped because the RX queue was full.</summary>
    public long RxMissed { get; init; }
    /// <summary>Erroneous received frames.</summary>
    public long RxErrors { get; init; }
    /// <summary>Failed transmissions.</summary>
    public long TxErrors { get; init; }
    /// <summary>Frames dropped for want of an mbuf (the pool ran low).</summary>
    public long RxNoMbuf { get; init; }
}
