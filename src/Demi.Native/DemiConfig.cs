using Demi.Native.Internal;

namespace Demi.Native;

/// <summary>
/// The YAML configuration named by <c>CONFIG_PATH</c>, with Demikernel's keys. Every key is optional;
/// keys Demi does not know are ignored (Demikernel's files also hold application sections).
/// <code>
/// demikernel:         { local_ipv4_addr: 10.0.0.1, local_link_addr: "02:00:00:00:00:01" }
/// raw_socket:         { linux_interface_name: veth0, xdp_interface_index: 0 }
/// dpdk:               { eal_init: ["--no-huge", "-m", "512"] }
/// tcp_socket_options: { keepalive: false, linger: { enabled: true, time_seconds: 0 }, nodelay: true }
/// inetstack_config:   { mtu: 1500, mss: 1460, arp_table: { "02:00:00:00:00:02": 10.0.0.2 }, ... }
/// demi:               { cores: "1", shard_count: 1, xdp_queue: 0, xdp_mode: auto, prefix_length: 24, drain_timeout_ms: 5000 }   # Demi's own
/// </code>
/// </summary>
public sealed class DemiConfig
{
    // Not in Demi.Errno: only the configuration loader reports it.
    private const int EACCES = 13;

    /// <summary><c>demikernel.local_ipv4_addr</c>: this host's IPv4 address (user-space stacks).</summary>
    public Ipv4Address? LocalIpv4Address { get; set; }

    /// <summary><c>demikernel.local_link_addr</c>: this host's MAC, normalized to lower-case <c>aa:bb:cc:dd:ee:ff</c>.</summary>
    public string? LocalLinkAddress { get; set; }

    /// <summary><c>raw_socket.linux_interface_name</c>: the interface catpowder attaches to.</summary>
    public string? InterfaceName { get; set; }

    /// <summary><c>raw_socket.xdp_interface_index</c>: Demikernel's interface index for XDP (read; on Linux the interface is named by <see cref="InterfaceName"/>).</summary>
    public int? XdpInterfaceIndex { get; set; }

    /// <summary><c>dpdk.eal_init</c>: DPDK EAL arguments.</summary>
    public IReadOnlyList<string> EalArguments { get; set; } = [];

    /// <summary><c>tcp_socket_options.keepalive</c> (a boolean, or a mapping with <c>enabled</c>).</summary>
    public bool? KeepAlive { get; set; }

    /// <summary>
    /// <c>tcp_socket_options.linger</c>: seconds to linger on close, null when off or unset. Parsed and
    /// validated but, as in Demikernel, not applied to sockets (closes always send a FIN).
    /// </summary>
    public int? LingerSeconds { get; set; }

    /// <summary><c>tcp_socket_options.nodelay</c>.</summary>
    public bool? NoDelay { get; set; }

    /// <summary><c>inetstack_config.mtu</c>.</summary>
    public int? Mtu { get; set; }

    /// <summary><c>inetstack_config.mss</c>.</summary>
    public int? Mss { get; set; }

    /// <summary><c>inetstack_config.arp_table</c>: static ARP entries, MAC (normalized) → IPv4.</summary>
    public IReadOnlyDictionary<string, Ipv4Address> ArpTable { get; set; } = new Dictionary<string, Ipv4Address>();

    /// <summary><c>inetstack_config.arp_request_retries</c>.</summary>
    public int? ArpRequestRetries { get; set; }

    /// <summary><c>inetstack_config.arp_request_timeout</c>, in seconds.</summary>
    public double? ArpRequestTimeoutSeconds { get; set; }

    /// <summary><c>inetstack_config.arp_cache_ttl</c>, in seconds.</summary>
    public double? ArpCacheTtlSeconds { get; set; }

    /// <summary><c>inetstack_config.tcp_checksum_offload</c>.</summary>
    public bool? TcpChecksumOffload { get; set; }

    /// <summary><c>inetstack_config.udp_checksum_offload</c>.</summary>
    public bool? UdpChecksumOffload { get; set; }

    /// <summary><c>demi.cores</c> (Demi's own key): the CPU list shards run on, as in <see cref="LibOSOptions.Cores"/>.</summary>
    public string? Cores { get; set; }

    /// <summary><c>demi.shard_count</c> (Demi's own key): unpinned shards when no cores are named.</summary>
    public int? ShardCount { get; set; }

    /// <summary><c>demi.xdp_queue</c> (Demi's own key): the first RX/TX queue catpowder binds (shard <c>i</c> gets queue <c>xdp_queue + i</c>). Default 0.</summary>
    public int? XdpQueue { get; set; }

    /// <summary><c>demi.xdp_mode</c> (Demi's own key): <c>auto</c>, <c>native</c> or <c>generic</c>.</summary>
    public string? XdpMode { get; set; }

    /// <summary><c>demi.prefix_length</c> (Demi's own key): the on-link prefix of <see cref="LocalIpv4Address"/>; 0 (Demikernel's behaviour) treats every destination as on-link.</summary>
    public int? PrefixLength { get; set; }

    /// <summary><c>demi.drain_timeout_ms</c> (Demi's own key): how long the exit lets connections finish, as in <see cref="LibOSOptions.ShutdownDrainTimeout"/>.</summary>
    public int? DrainTimeoutMs { get; set; }

    /// <summary>
    /// Reads and validates a configuration file. Returns 0, ENOENT (no such file), EACCES/EIO (unreadable)
    /// or EINVAL (not YAML, or a key of the wrong type); <paramref name="error"/> then says what and where.
    /// </summary>
    public static int Load(string path, out DemiConfig? config, out string? error)
    {
        config = null;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            error = $"configuration file '{path}' does not exist";
            return Errno.ENOENT;
        }
        catch (DirectoryNotFoundException)
        {
            error = $"configuration file '{path}' does not exist";
            return Errno.ENOENT;
        }
        catch (UnauthorizedAccessException)
        {
            error = $"configuration file '{path}' cannot be read (permission denied, or a directory)";
            return EACCES;
        }
        catch (IOException e)
        {
            error = $"configuration file '{path}' cannot be read: {e.Message}";
            return Errno.EIO;
        }
        return Parse(text, path, out config, out error);
    }

    /// <summary>Parses configuration text (see <see cref="Load"/>); <paramref name="source"/> names it in errors.</summary>
    public static int Parse(string text, string source, out DemiConfig? config, out string? error)
        => ConfigParser.Parse(text, source, out config, out error);
}
