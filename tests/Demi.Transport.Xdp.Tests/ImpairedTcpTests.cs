using Demi.Inet;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Demi's TCP over AF_XDP against the Linux kernel's TCP through the impairing relay (2 % loss, 5 %
/// reorder, 1 % duplication, 1 ms delay, both directions; issue 16 item 1): a 10 MB echo arrives
/// intact, and the server still accepts and serves a fresh connection afterwards (it once wedged here:
/// queued pushes pinned every pool frame and the fill ring ran dry).
/// </summary>
public sealed class ImpairedTcpTests(ITestOutputHelper output)
{
    private const int Total = 10 * 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(45);

    internal static readonly ImpairmentOptions Impairment = new()
    {
        Seed = 16,
        Loss = 0.02,
        Reorder = 0.05,
        Duplicate = 0.01,
        Delay = TimeSpan.FromMilliseconds(1),
    };

    [Fact]
    public void Kernel_client_moves_10MB_through_a_demi_echo_server_over_a_lossy_reordering_duplicating_link()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { Impairment = Impairment });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, tcp: true);
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, libOS.Listen(lqd, 8));

        var server = TcpPeers.EchoOneConnection(libOS, lqd, Timeout);
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(90), TcpPeers.KernelBulkEchoClient,
            veth.AddressA, "7000", Total.ToString(), "42", "30");
        if (!client.Succeeded)
            throw new Xunit.Sdk.XunitException($"client failed: {client.StandardError} {client.StandardOutput}\n" + TcpInteropTests.Diagnose(veth, libOS));
        var parts = TcpPeers.ParseClient(client);
        Assert.Equal(parts[0], parts[1]);
        Assert.Equal(Total.ToString(), parts[2]);
        Assert.True(server.Wait(Timeout), "server did not see the end of stream");
        Assert.Equal(Total, server.Result);

        // Not wedged: a fresh connection is accepted and echoed.
        var second = TcpPeers.EchoOneConnection(libOS, lqd, Timeout);
        var again = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), TcpPeers.KernelBulkEchoClient,
            veth.AddressA, "7000", "65536", "43", "30");
        var againParts = TcpPeers.ParseClient(again);
        Assert.Equal(againParts[0], againParts[1]);
        Assert.True(second.Wait(Timeout), "second server did not see the end of stream");
        Assert.Equal(65536, second.Result);

        // The relay did impair both directions.
        var relay = veth.RelayStatistics;
        output.WriteLine($"relay: {relay}");
        foreach (var d in new[] { relay.AToB, relay.BToA })
            Assert.True(d.Dropped > 0 && d.Reordered > 0 && d.Duplicated > 0, $"relay did not impair: {relay}");
        output.WriteLine(TcpInteropTests.Diagnose(veth, libOS));
        output.WriteLine($"10 MB echo through the impairing relay: {parts[3]} s");
        Assert.Equal(0, libOS.Close(lqd));
        Demi.Tests.Shared.StackHealth.AssertClean(libOS);
    }

    /// <summary>
    /// The issue's own setup: <c>demi echo server --proto tcp --backend xdp</c> (pops and pushes without
    /// waiting for the pushes, so pushes queue up in the socket actor) through the impairing relay.
    /// </summary>
    [Fact]
    public async Task Cli_tcp_echo_server_serves_10MB_and_a_fresh_connection_over_a_lossy_reordering_duplicating_link()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { Impairment = Impairment });
        string demi = Path.Combine(AppContext.BaseDirectory, "demi.dll");
        Assert.True(File.Exists(demi), $"{demi} is missing");
        var server = veth.Start(VethSide.A, "dotnet", demi, "echo", "server", "--proto", "tcp", "--backend", "xdp",
            "--iface", veth.InterfaceA, "--ip", veth.AddressA, "--bind", $"{veth.AddressA}:7000");
        string? ready = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(ready is not null && ready.StartsWith("demi echo server (tcp, xdp backend)", StringComparison.Ordinal),
            ready ?? "(no output) " + await server.StandardError.ReadToEndAsync());
        for (int run = 0; run < 2; run++)
        {
            int bytes = run == 0 ? Total : 65536;
            var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(90), TcpPeers.KernelBulkEchoClient,
                veth.AddressA, "7000", bytes.ToString(), (42 + run).ToString(), "20");
            output.WriteLine($"run {run}: exit {client.ExitCode} {client.StandardOutput.Trim()} {client.StandardError.Trim()}; relay {veth.RelayStatistics}");
            var parts = TcpPeers.ParseClient(client);
            Assert.Equal(parts[0], parts[1]);
            Assert.Equal(bytes.ToString(), parts[2]);
        }
        Assert.False(server.HasExited, "the echo server exited");
    }
}
