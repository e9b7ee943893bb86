namespace Demi.Inet;

/// <summary>
/// Configuration of one <see cref="InetStack"/>. The properties mirror Demikernel's
/// <c>demikernel:</c> and <c>inetstack_config:</c> keys (see <see cref="Set"/>).
/// </summary>
public sealed class InetStackOptions
{
    /// <summary>This stack's IPv4 address (<c>local_ipv4_addr</c>). Required.</summary>
    public Ipv4Address LocalAddress { get; set; }

    /// <summary>Link address to use (<c>local_link_addr</c>); null means the NIC queue's own.</summary>
    public MacAddress? MacAddress { get; set; }

    /// <summary>Largest IPv4 packet to send (<c>mtu</c>); null or larger than the NIC's means the NIC's.</summary>
    public int? Mtu { get; set; }

    /// <summary>
    /// Length of the on-link prefix. 0 (the default, like Demikernel) treats every destination as on-link;
    /// otherwise destinations outside it go through <see cref="Gateway"/>.
    /// </summary>
    public int PrefixLength { get; set; }

    /// <summary>Next hop for off-link destinations; <see cref="Ipv4Address.Any"/> means off-link is unreachable.</summary>
    public Ipv4Address Gateway { get; set; }

    /// <summary>Static ARP entries (<c>arp_table</c>); they never expire and are never overwritten.</summary>
    public Dictionary<Ipv4Address, MacAddress> ArpTable { get; } = new();

    /// <summary>How long a learned ARP entry stays valid (<c>arp_cache_ttl</c>).</summary>
    public TimeSpan ArpCacheTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long to wait for an ARP reply before asking again (<c>arp_request_timeout</c>).</summary>
    public TimeSpan ArpRequestTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>ARP requests sent again after the first before giving up (<c>arp_request_retries</c>).</summary>
    public int ArpRequestRetries { get; set; } = 3;

    /// <summary>After a failed resolution, sends to that address fail at once with EHOSTUNREACH for this long.</summary>
    public TimeSpan ArpFailureHoldTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Packets that may wait for address resolution, over all destinations (the bound on queued sends).
    /// One unresolved neighbour may hold at most three quarters of them.
    /// </summary>
    public int ArpPendingLimit { get; set; } = 1024;

    /// <summary>
    /// Bytes that may wait for the resolution of one neighbour (Linux's <c>unres_qlen_bytes</c>, 212,992 by
    /// default): a burst to a new neighbour is sent once it answers instead of lost.
    /// </summary>
    public long ArpPendingBytesPerNeighbour { get; set; } = 212_992;

    /// <summary>
    /// A neighbour table shared with other stacks on the same interface (one per NIC queue/shard), so that
    /// an ARP reply received on any queue resolves sends waiting on all. Null gives the stack its own.
    /// </summary>
    public ArpCache? ArpCache { get; set; }

    /// <summary>Most learned (non-static) ARP entries kept (when the stack creates its own <see cref="ArpCache"/>).</summary>
    public int ArpCacheCapacity { get; set; } = 1024;

    /// <summary>Skip computing and verifying UDP checksums (<c>udp_checksum_offload</c>): the device does it.</summary>
    public bool UdpChecksumOffload { get; set; }

    /// <summary>Tell TCP to skip its checksums (<c>tcp_checksum_offload</c>): reported through <see cref="IIpLayer.Offloads"/>.</summary>
    public bool TcpChecksumOffload { get; set; }

    /// <summary>Datagrams a UDP socket holds before it drops new ones.</summary>
    public int UdpReceiveQueueLength { get; set; } = 1024;

    /// <summary>TTL of sent packets.</summary>
    public byte Ttl { get; set; } = 64;

    /// <summary>Frames received or transmitted per NIC call.</summary>
    public int BurstSize { get; set; } = 32;

    /// <summary>Seed for ephemeral port choice; null picks a random one (ports are unpredictable, unlike Demikernel #213).</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// The port space shared with the other shards of the libOS (<see cref="InetBackend"/> sets it);
    /// null gives the stack one of its own.
    /// </summary>
    public PortSpace? PortSpace { get; set; }

    /// <summary>The stack's shard index in <see cref="PortSpace"/> (its ephemeral ports are those with <c>port % shards == PortShard</c>).</summary>
    public int PortShard { get; set; }

    /// <summary>
    /// When set, every frame sent and received is written to this pcap file. Under <see cref="InetBackend"/>
    /// with several queues, shard <c>i</c> writes <c>name.shard{i}.pcap</c>.
    /// </summary>
    public string? CapturePath { get; set; }

    /// <summary>
    /// Where the stack reports a bug it caught (an exception while processing a frame, counted as
    /// <see cref="DropReason.InternalError"/>): the first few of each stack, then at most one a second
    /// with the number suppressed meanwhile. Null writes to standard error.
    /// </summary>
    public Action<string>? InternalErrorLog { get; set; }

    /// <summary>
    /// Tests that inject faults into handlers on purpose set this so that their stack's caught exceptions
    /// stay out of <see cref="InetStack.InternalErrorsInProcess"/> (which the test suites assert is zero).
    /// </summary>
    internal bool InjectsFaults { get; set; }

    /// <summary>The stack's clock (a <see cref="ManualInetClock"/> in tests).</summary>
    public InetClock Clock { get; set; } = InetClock.System;

    /// <summary>
    /// Sets an option from a Demikernel configuration key (<c>local_ipv4_addr</c>, <c>local_link_addr</c>, <c>mtu</c>,
    /// <c>arp_request_retries</c>, <c>arp_request_timeout</c> and <c>arp_cache_ttl</c> in seconds (fractions allowed),
    /// <c>tcp_checksum_offload</c>, <c>udp_checksum_offload</c>, and <c>arp_table</c> entries as "mac=ipv4").
    /// Returns false for a key it does not know.
    /// </summary>
    public bool Set(string key, string value)
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        switch (key)
        {
            case "local_ipv4_addr": LocalAddress = Ipv4Address.Parse(value.Trim()); return true;
            case "local_link_addr": MacAddress = Inet.MacAddress.Parse(value.Trim()); return true;
            case "mtu": Mtu = int.Parse(value, inv); return true;
            case "arp_request_retries": ArpRequestRetries = int.Parse(value, inv); return true;
            case "arp_request_timeout": ArpRequestTimeout = TimeSpan.FromSeconds(double.Parse(value, inv)); return true;
            case "arp_cache_ttl": ArpCacheTtl = TimeSpan.FromSeconds(double.Parse(value, inv)); return true;
            case "tcp_checksum_offload": TcpChecksumOffload = bool.Parse(value); return true;
            case "udp_checksum_offload": UdpChecksumOffload = bool.Parse(value); return true;
            case "arp_table":
                var parts = value.Split('=', 2);
                if (parts.Length != 2)
                    throw new FormatException($"arp_table entry '{value}' is not mac=ipv4.");
                ArpTable[Ipv4Address.Parse(parts[1].Trim())] = Inet.MacAddress.Parse(parts[0].Trim());
                return true;
            default: return false;
        }
    }

    /// <summary>A shallow copy (the static ARP table and shared cache are shared).</summary>
    internal InetStackOptions Clone() => (InetStackOptions)MemberwiseClone();

    internal void Validate()
    {
        if (LocalAddress.IsAny || LocalAddress.IsBroadcast || LocalAddress.IsMulticast)
            throw new ArgumentException($"LocalAddress {LocalAddress} is not a unicast address.");
        ArgumentOutOfRangeException.ThrowIfNegative(ArpRequestRetries);
        ArgumentOutOfRangeException.ThrowIfLessThan(ArpPendingLimit, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ArpPendingBytesPerNeighbour, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(UdpReceiveQueueLength, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(BurstSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ArpCacheCapacity, 1);
        if (PrefixLength is < 0 or > 32)
            throw new ArgumentOutOfRangeException(nameof(PrefixLength));
        if (ArpRequestTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ArpRequestTimeout));
        if (Ttl == 0)
            throw new ArgumentOutOfRangeException(nameof(Ttl));
    }
}
