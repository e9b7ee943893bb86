using System.Diagnostics;
using Demi.Tests.Shared;
using Demi.Transport.Xdp;

namespace Demi.Kv.Tests;

/// <summary>
/// <c>demi kv --backend dpdk --vdev net_af_packet0,iface=IF --ip A</c> as a process of its own in
/// namespace A (DPDK EAL, user-space TCP), driven by redis-cli and redis-benchmark on the kernel's TCP
/// in namespace B, then stopped by SIGTERM. Needs root (CI is root).
/// </summary>
public sealed class DpdkCliTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DemiKvOnTheDpdkBackend_ServesRedisCliAndRedisBenchmark_AndStopsOnSigterm()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces: " + reason);
        string demi = Path.Combine(AppContext.BaseDirectory, "demi.dll");
        Assert.True(File.Exists(demi), $"CLI not built next to the tests: {demi}");
        using var veth = VethNamespaces.Create(new VethOptions { AddressA = "10.99.14.1", AddressB = "10.99.14.2" });

        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[]
        {
            "netns", "exec", veth.NamespaceA, "dotnet", demi, "kv", "--bind", $"{veth.AddressA}:6379",
            "--backend", "dpdk", "--vdev", $"net_af_packet0,iface={veth.InterfaceA}", "--ip", veth.AddressA, "--prefix", "24",
        })
            psi.ArgumentList.Add(arg);

        var (started, banner) = await BannerProcess.StartAsync(psi, "demi kv", StartTimeout);
        using (started)
        {
            var server = started.Process;
            Assert.Equal($"demi kv (dpdk backend, 1 shard(s)) on {veth.AddressA}:6379; Ctrl+C or SIGTERM to stop.", banner);

            string Cli(params string[] args) => KvPeer.Cli(veth, args);

            Assert.Equal("PONG\n", Cli("PING"));
            Assert.Equal("OK\n", Cli("SET", "over", "dpdk"));
            Assert.Equal("dpdk\n", Cli("GET", "over"));
            Assert.Equal("3\n", Cli("INCRBY", "n", "3"));
            Assert.Equal("(error) ERR unknown command 'NOPE', with args beginning with: \n", Cli("--no-raw", "NOPE"));

            // redis-benchmark's own traffic: 50 connections, pipelined, 100 random keys.
            KvPeer.BenchmarkCompletes(veth);
            var dbsize = int.Parse(Cli("DBSIZE").Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(dbsize, 52, 102); // key:000000000000..99 of redis-benchmark, "over", "n"

            // SIGTERM ends the server cleanly (exit 0: port stopped, EAL left, nothing thrown).
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            Assert.True(server.WaitForExit(30_000), $"the server did not stop on SIGTERM: {started.Output}");
            Assert.True(server.ExitCode == 0, $"exit {server.ExitCode}: {started.Output}");
        }
    }
}
