using Demi.Native.Internal;

namespace Demi.Native.Tests;

public sealed class ConfigTests
{
    private const string Full = """
        client:
          connect_to: { host: 127.0.0.1, port: 12345 }
        demikernel:
          local_ipv4_addr: 10.0.0.1
          local_link_addr: "02:AA:00:00:00:01"
        raw_socket:
          linux_interface_name: veth0
          xdp_interface_index: 2
        dpdk:
          eal_init: ["--no-huge", "-m", "512"]
        tcp_socket_options:
          keepalive: true
          linger: { enabled: true, time_seconds: 4 }
          nodelay: false
        inetstack_config:
          mtu: 1500
          mss: 1460
          arp_table:
            "02:00:00:00:00:02": 10.0.0.2
          arp_request_retries: 3
          arp_request_timeout: 0.5
          arp_cache_ttl: 15
          tcp_checksum_offload: false
          udp_checksum_offload: true
        demi:
          cores: "0"
          shard_count: 2
        """;

    [Fact]
    public void Parses_every_demikernel_key()
    {
        Assert.Equal(0, DemiConfig.Parse(Full, "test", out var c, out var error));
        Assert.Null(error);
        Assert.NotNull(c);
        Assert.Equal(Ipv4Address.Parse("10.0.0.1"), c.LocalIpv4Address);
        Assert.Equal("02:aa:00:00:00:01", c.LocalLinkAddress);
        Assert.Equal("veth0", c.InterfaceName);
        Assert.Equal(2, c.XdpInterfaceIndex);
        Assert.Equal(["--no-huge", "-m", "512"], c.EalArguments);
        Assert.True(c.KeepAlive);
        Assert.Equal(4, c.LingerSeconds);
        Assert.False(c.NoDelay);
        Assert.Equal(1500, c.Mtu);
        Assert.Equal(1460, c.Mss);
        Assert.Equal(Ipv4Address.Parse("10.0.0.2"), c.ArpTable["02:00:00:00:00:02"]);
        Assert.Equal(3, c.ArpRequestRetries);
        Assert.Equal(0.5, c.ArpRequestTimeoutSeconds);
        Assert.Equal(15, c.ArpCacheTtlSeconds);
        Assert.False(c.TcpChecksumOffload);
        Assert.True(c.UdpChecksumOffload);
        Assert.Equal("0", c.Cores);
        Assert.Equal(2, c.ShardCount);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("- a\n- b\n", "mapping of sections")]
    [InlineData("demikernel: [unclosed\n", "not valid YAML")]
    [InlineData("demikernel: 5\n", "'demikernel' (line 1): must be a mapping")]
    [InlineData("demikernel:\n  local_ipv4_addr: 1.2.3\n", "'demikernel.local_ipv4_addr' (line 2)")]
    [InlineData("demikernel:\n  local_link_addr: \"02:00:00:00:01\"\n", "not a MAC address")]
    [InlineData("raw_socket:\n  xdp_interface_index: -1\n", "outside")]
    [InlineData("dpdk:\n  eal_init: { a: b }\n", "must be a list of strings")]
    [InlineData("tcp_socket_options:\n  nodelay: maybe\n", "not a boolean")]
    [InlineData("tcp_socket_options:\n  linger: [1]\n", "tcp_socket_options.linger")]
    [InlineData("inetstack_config:\n  mtu: 10\n", "outside [68, 65535]")]
    [InlineData("inetstack_config:\n  arp_table: [1, 2]\n", "arp_table")]
    [InlineData("inetstack_config:\n  arp_request_timeout: soon\n", "not a number of seconds")]
    public void Bad_files_are_EINVAL_with_a_clear_message(string yaml, string expected)
    {
        Assert.Equal(Errno.EINVAL, DemiConfig.Parse(yaml, "cfg.yaml", out var config, out var error));
        Assert.Null(config);
        Assert.NotNull(error);
        Assert.StartsWith("cfg.yaml: ", error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void Missing_file_is_ENOENT()
    {
        Assert.Equal(Errno.ENOENT, DemiConfig.Load("/nonexistent/demi.yaml", out var config, out var error));
        Assert.Null(config);
        Assert.Contains("does not exist", error);
    }

    [Fact]
    public void Null_values_count_as_unset()
    {
        Assert.Equal(0, DemiConfig.Parse("demikernel:\n  local_ipv4_addr: ~\ndpdk:\n", "t", out var c, out _));
        Assert.Null(c!.LocalIpv4Address);
        Assert.Empty(c.EalArguments);
    }

    [Theory]
    [InlineData(null, 0)]
    [InlineData("", 0)]
    [InlineData("catnap", 0)]
    [InlineData("catnip", Errno.EINVAL)] // DPDK needs CONFIG_PATH (dpdk.eal_init, local_ipv4_addr)
    [InlineData("catmem", Errno.ENOTSUP)]
    [InlineData("nonsense", Errno.EINVAL)]
    public void Backend_selection(string? libos, int expected)
    {
        int err = NativeHost.CreateOptions(libos, null, out var options, out _, out var error);
        Assert.Equal(expected, err);
        Assert.Equal(expected == 0, error is null);
        Assert.Null(options.Backend); // catnap: the LibOS default (kernel sockets)
    }

    [Fact]
    public void Config_cores_reach_the_options()
    {
        var path = Path.Combine(Path.GetTempPath(), $"demi-native-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "demi:\n  cores: \"0\"\n  shard_count: 3\n");
        try
        {
            Assert.Equal(0, NativeHost.CreateOptions("catnap", path, out var options, out var config, out _));
            Assert.Equal("0", options.Cores);
            Assert.Equal(3, options.ShardCount);
            Assert.NotNull(config);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
