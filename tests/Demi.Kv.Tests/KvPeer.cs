using Demi.Transport.Xdp;

namespace Demi.Kv.Tests;

/// <summary>Redis's own clients in namespace B against a Demi-KV server on A's address, port 6379.</summary>
internal static class KvPeer
{
    private static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan BenchmarkTimeout = TimeSpan.FromSeconds(120);

    /// <summary>One <c>redis-cli</c> command; its standard output (it must exit 0).</summary>
    public static string Cli(VethNamespaces veth, params string[] args)
    {
        var r = veth.Run(VethSide.B, CliTimeout, "redis-cli", ["-h", veth.AddressA, "-p", "6379", .. args]);
        Assert.True(r.Succeeded, $"redis-cli {string.Join(' ', args)}: exit {r.ExitCode} {r.StandardError}");
        return r.StandardOutput;
    }

    /// <summary>redis-benchmark's own traffic (50 connections, pipelined, 100 random keys): it must complete and report SET and GET.</summary>
    public static void BenchmarkCompletes(VethNamespaces veth)
    {
        var bench = veth.Run(VethSide.B, BenchmarkTimeout, "redis-benchmark",
            "-h", veth.AddressA, "-p", "6379", "-t", "set,get", "-n", "20000", "-c", "50", "-P", "16", "-r", "100", "--csv");
        Assert.True(bench.Succeeded, $"redis-benchmark: exit {bench.ExitCode} {bench.StandardError}");
        var lines = bench.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("\"SET\",", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("\"GET\",", StringComparison.Ordinal));
    }
}
