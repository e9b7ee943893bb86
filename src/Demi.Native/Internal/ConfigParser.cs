using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Demi.Native.Internal;

/// <summary>
/// Reads Demikernel's YAML keys with YamlDotNet's representation model (a node tree, no reflection,
/// so it works under NativeAOT). Every problem is an EINVAL with the key's path and line.
/// </summary>
internal static class ConfigParser
{
    public static int Parse(string text, string source, out DemiConfig? config, out string? error)
    {
        config = null;
        error = null;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            error = $"{source}: not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {e.Message}";
            return Errno.EINVAL;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these (not a YamlException) for some malformed inputs: a flow mapping left
            // open at the end of the file, an event its node loader does not expect (found by fuzzing:
            // fuzz/regressions/config).
            error = $"{source}: not valid YAML: {e.Message}";
            return Errno.EINVAL;
        }
        if (stream.Documents.Count == 0)
        {
            error = $"{source}: the configuration is empty";
            return Errno.EINVAL;
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            error = $"{source}: the configuration must be a mapping of sections (demikernel:, raw_socket:, ...)";
            return Errno.EINVAL;
        }
        var result = new DemiConfig();
        try
        {
            ReadSections(root, result);
        }
        catch (ConfigException e)
        {
            error = $"{source}: {e.Message}";
            return Errno.EINVAL;
        }
        config = result;
        return 0;
    }

    private static void ReadSections(YamlMappingNode root, DemiConfig c)
    {
        if (Section(root, "demikernel") is { } demikernel)
        {
            if (Scalar(demikernel, "demikernel.local_ipv4_addr") is { } ip)
                c.LocalIpv4Address = ParseIpv4(ip, "demikernel.local_ipv4_addr");
            if (Scalar(demikernel, "demikernel.local_link_addr") is { } mac)
                c.LocalLinkAddress = ParseMac(mac, "demikernel.local_link_addr");
        }
        if (Section(root, "raw_socket") is { } raw)
        {
            if (Scalar(raw, "raw_socket.linux_interface_name") is { } name)
                c.InterfaceName = name.Value;
            if (Scalar(raw, "raw_socket.xdp_interface_index") is { } index)
                c.XdpInterfaceIndex = ParseInt(index, "raw_socket.xdp_interface_index", 0, int.MaxValue);
        }
        if (Section(root, "dpdk") is { } dpdk && Child(dpdk, "eal_init") is { } eal)
        {
            if (eal is not YamlSequenceNode list)
                throw Bad(eal, "dpdk.eal_init", "must be a list of strings");
            var args = new List<string>();
            foreach (var item in list)
                args.Add(item is YamlScalarNode s ? s.Value ?? "" : throw Bad(item, "dpdk.eal_init", "must be a list of strings"));
            c.EalArguments = args;
        }
        if (Section(root, "tcp_socket_options") is { } tcp)
        {
            if (Child(tcp, "keepalive") is { } keepAlive)
                c.KeepAlive = Enabled(keepAlive, "tcp_socket_options.keepalive");
            if (Child(tcp, "linger") is { } linger)
                c.LingerSeconds = Linger(linger);
            if (Scalar(tcp, "tcp_socket_options.nodelay") is { } noDelay)
                c.NoDelay = ParseBool(noDelay, "tcp_socket_options.nodelay");
        }
        if (Section(root, "inetstack_config") is { } inet)
        {
            if (Scalar(inet, "inetstack_config.mtu") is { } mtu)
                c.Mtu = ParseInt(mtu, "inetstack_config.mtu", 68, 65535);
            if (Scalar(inet, "inetstack_config.mss") is { } mss)
                c.Mss = ParseInt(mss, "inetstack_config.mss", 1, 65535);
            if (Child(inet, "arp_table") is { } arp)
                c.ArpTable = ArpTable(arp);
            if (Scalar(inet, "inetstack_config.arp_request_retries") is { } retries)
                c.ArpRequestRetries = ParseInt(retries, "inetstack_config.arp_request_retries", 0, int.MaxValue);
            if (Scalar(inet, "inetstack_config.arp_request_timeout") is { } timeout)
                c.ArpRequestTimeoutSeconds = ParseSeconds(timeout, "inetstack_config.arp_request_timeout");
            if (Scalar(inet, "inetstack_config.arp_cache_ttl") is { } ttl)
                c.ArpCacheTtlSeconds = ParseSeconds(ttl, "inetstack_config.arp_cache_ttl");
            if (Scalar(inet, "inetstack_config.tcp_checksum_offload") is { } tcpOffload)
                c.TcpChecksumOffload = ParseBool(tcpOffload, "inetstack_config.tcp_checksum_offload");
            if (Scalar(inet, "inetstack_config.udp_checksum_offload") is { } udpOffload)
                c.UdpChecksumOffload = ParseBool(udpOffload, "inetstack_config.udp_checksum_offload");
        }
        if (Section(root, "demi") is { } demi)
        {
            if (Scalar(demi, "demi.cores") is { } cores)
                c.Cores = cores.Value;
            if (Scalar(demi, "demi.shard_count") is { } shards)
                c.ShardCount = ParseInt(shards, "demi.shard_count", 1, 1024);
            if (Scalar(demi, "demi.xdp_queue") is { } queue)
                c.XdpQueue = ParseInt(queue, "demi.xdp_queue", 0, 65535);
            if (Scalar(demi, "demi.xdp_mode") is { } mode)
                c.XdpMode = mode.Value is "auto" or "native" or "generic" ? mode.Value : throw Bad(mode, "demi.xdp_mode", $"'{mode.Value}' is not auto, native or generic");
            if (Scalar(demi, "demi.prefix_length") is { } prefix)
                c.PrefixLength = ParseInt(prefix, "demi.prefix_length", 0, 32);
            if (Scalar(demi, "demi.drain_timeout_ms") is { } drain)
                c.DrainTimeoutMs = ParseInt(drain, "demi.drain_timeout_ms", 0, 3_600_000);
        }
    }

    // ------------------------------------------------------------------ nodes

    private static YamlNode? Child(YamlMappingNode map, string key)
    {
        foreach (var pair in map.Children)
            if (pair.Key is YamlScalarNode k && k.Value == key)
                return IsNull(pair.Value) ? null : pair.Value;
        return null;
    }

    private static YamlMappingNode? Section(YamlMappingNode root, string name) => Child(root, name) switch
    {
        null => null,
        YamlMappingNode map => map,
        var other => throw Bad(other, name, "must be a mapping"),
    };

    private static YamlScalarNode? Scalar(YamlMappingNode map, string path)
    {
        string key = path[(path.LastIndexOf('.') + 1)..];
        return Child(map, key) switch
        {
            null => null,
            YamlScalarNode s => s,
            var other => throw Bad(other, path, "must be a single value"),
        };
    }

    private static bool IsNull(YamlNode node)
        => node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    // ------------------------------------------------------------------ values

    private static Ipv4Address ParseIpv4(YamlScalarNode node, string path)
        => Ipv4Address.TryParse(node.Value, out var address) ? address : throw Bad(node, path, $"'{node.Value}' is not an IPv4 address");

    private static string ParseMac(YamlScalarNode node, string path)
    {
        string text = node.Value ?? "";
        var parts = text.Split(':', '-');
        if (parts.Length != 6)
            throw Bad(node, path, $"'{text}' is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:01)");
        foreach (var part in parts)
            if (part.Length is < 1 or > 2 || !byte.TryParse(part, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out _))
                throw Bad(node, path, $"'{text}' is not a MAC address (six hex bytes, e.g. 02:00:00:00:00:01)");
        return string.Join(':', parts.Select(p => byte.Parse(p, NumberStyles.HexNumber, CultureInfo.InvariantCulture).ToString("x2", CultureInfo.InvariantCulture)));
    }

    private static int ParseInt(YamlScalarNode node, string path, int min, int max)
    {
        if (!int.TryParse(node.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw Bad(node, path, $"'{node.Value}' is not an integer");
        if (value < min || value > max)
            throw Bad(node, path, $"{value} is outside [{min}, {max}]");
        return value;
    }

    private static double ParseSeconds(YamlScalarNode node, string path)
    {
        if (!double.TryParse(node.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value < 0 || !double.IsFinite(value))
            throw Bad(node, path, $"'{node.Value}' is not a number of seconds");
        return value;
    }

    private static bool ParseBool(YamlScalarNode node, string path) => node.Value switch
    {
        "true" or "True" or "TRUE" or "yes" or "on" => true,
        "false" or "False" or "FALSE" or "no" or "off" => false,
        _ => throw Bad(node, path, $"'{node.Value}' is not a boolean"),
    };

    // keepalive: true | { enabled: true, ... }
    private static bool Enabled(YamlNode node, string path) => node switch
    {
        YamlScalarNode s => ParseBool(s, path),
        YamlMappingNode m => Scalar(m, path + ".enabled") is { } e ? ParseBool(e, path + ".enabled") : throw Bad(node, path, "needs 'enabled'"),
        _ => throw Bad(node, path, "must be a boolean or a mapping with 'enabled'"),
    };

    // linger: 5 (seconds) | false | { enabled: true, time_seconds: 5 }
    private static int? Linger(YamlNode node)
    {
        const string path = "tcp_socket_options.linger";
        if (node is YamlScalarNode s)
            return s.Value is "false" or "off" or "no" ? null : ParseInt(s, path, 0, int.MaxValue);
        if (node is YamlMappingNode m)
        {
            bool enabled = Scalar(m, path + ".enabled") is not { } e || ParseBool(e, path + ".enabled");
            int seconds = Scalar(m, path + ".time_seconds") is { } t ? ParseInt(t, path + ".time_seconds", 0, int.MaxValue) : 0;
            return enabled ? seconds : null;
        }
        throw Bad(node, path, "must be seconds, false, or a mapping with 'enabled' and 'time_seconds'");
    }

    private static Dictionary<string, Ipv4Address> ArpTable(YamlNode node)
    {
        const string path = "inetstack_config.arp_table";
        if (node is not YamlMappingNode map)
            throw Bad(node, path, "must be a mapping of MAC address to IPv4 address");
        var table = new Dictionary<string, Ipv4Address>();
        foreach (var pair in map.Children)
        {
            if (pair.Key is not YamlScalarNode mac || pair.Value is not YamlScalarNode ip)
                throw Bad(pair.Key, path, "must be a mapping of MAC address to IPv4 address");
            table[ParseMac(mac, path)] = ParseIpv4(ip, path);
        }
        return table;
    }

    private static ConfigException Bad(YamlNode node, string path, string message)
        => new($"'{path}' (line {node.Start.Line}): {message}");

    /// <summary>A configuration error; caught inside <see cref="Parse"/> and turned into EINVAL.</summary>
    private sealed class ConfigException(string message) : Exception(message);
}
