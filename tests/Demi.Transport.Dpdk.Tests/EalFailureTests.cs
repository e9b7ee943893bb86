using System.Diagnostics;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// Each way the EAL fails here gives its own message. The EAL starts once per process (a failed
/// start cannot be retried), so each case runs the small probe program in a process of its own.
/// </summary>
public sealed class EalFailureTests
{
    private static readonly string[] NoHuge = ["demi", "-l", "0", "--no-huge", "--no-shconf", "-m", "128", "--no-pci", "--iova-mode=va"];

    /// <summary>Runs the probe program (as <paramref name="user"/>, a uid, when given): its exit code and output.</summary>
    internal static (int Exit, string Output) Probe(string? user, params string[] args)
    {
        string baseDir = AppContext.BaseDirectory.TrimEnd('/');
        string config = Path.GetFileName(baseDir);
        string probe = Path.Combine(baseDir, "..", "..", "Demi.Transport.Dpdk.EalProbe", config, "Demi.Transport.Dpdk.EalProbe.dll");
        Assert.True(File.Exists(probe), $"probe not built: {probe}");
        var psi = new ProcessStartInfo(user is null ? "dotnet" : "setpriv") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (user is not null)
            foreach (var a in new[] { $"--reuid={user}", $"--regid={user}", "--clear-groups", "dotnet" })
                psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(probe);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_HOME"] = "/tmp";
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), "probe hung");
        return (p.ExitCode, stdout.Trim() + (stdout.Contains("error", StringComparison.Ordinal) || stdout.Contains("ok", StringComparison.Ordinal) ? "" : "\nstderr: " + stderr));
    }

    [Fact]
    public void The_default_arguments_start_the_eal_without_hugepages()
    {
        Privileges.RequireRoot();
        var (exit, output) = Probe(null, ["eal", .. NoHuge, $"--file-prefix=demi-probe-{Environment.ProcessId}-1"]);
        Assert.True(exit == 0, output);
        Assert.EndsWith("ok", output);
    }

    [Fact]
    public void Not_root_is_refused_with_its_reason()
    {
        Privileges.RequireRoot();
        var (exit, output) = Probe("65534", ["eal", .. NoHuge]);
        Assert.Equal(1, exit);
        Assert.Contains("error 1 DPDK needs root here", output);
    }

    [Fact]
    public void Hugepages_wanted_but_none_reserved_is_named()
    {
        Privileges.RequireRoot();
        var (exit, output) = Probe(null, "eal", "demi", "-l", "0", "-m", "64", "--no-pci", "--in-memory", $"--file-prefix=demi-probe-{Environment.ProcessId}-2");
        if (DpdkEal.HugepagesReserved() > 0)
        {
            // With hugepages reserved the same arguments must work.
            Assert.True(exit == 0, output);
            return;
        }
        Assert.Equal(1, exit);
        Assert.Contains("wants hugepages (no --no-huge given) but none are reserved", output);
    }

    [Fact]
    public void A_missing_vdev_interface_is_named_with_its_namespace()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var (exit, output) = Probe(null, "vdev", veth.NamespaceA, "net_af_packet0,iface=no-such-if");
        Assert.Equal(1, exit);
        Assert.Contains($"interface 'no-such-if' does not exist in network namespace {veth.NamespaceA}", output);
    }

    [Fact]
    public void An_unknown_vdev_driver_is_named()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        var (exit, output) = Probe(null, "vdev", veth.NamespaceA, "net_nosuchpmd0");
        Assert.Equal(1, exit);
        Assert.Contains("cannot attach DPDK device 'net_nosuchpmd0'", output);
    }

    [Fact]
    public void A_second_start_with_other_arguments_is_refused()
    {
        Privileges.RequireRoot();
        var (exit, output) = Probe(null, "twice");
        Assert.Equal(1, exit);
        Assert.Contains("already initialised in this process with other arguments", output);
    }

    [Fact]
    public void An_argument_the_eal_rejects_reports_rte_errno()
    {
        Privileges.RequireRoot();
        // Core 999 does not exist: rte_eal_init itself fails.
        var (exit, output) = Probe(null, "eal", "demi", "-l", "999", "--no-huge", "--no-shconf", "-m", "64", "--no-pci");
        Assert.Equal(1, exit);
        Assert.Contains("rte_eal_init(demi -l 999", output);
        Assert.Contains("failed:", output);
    }
}
