using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Transport.Dpdk.Tests;

[Collection(DpdkCollection.Name)]
public sealed class DpdkDoctorTests
{
    [Fact]
    public void Doctor_says_dpdk_runs_here_and_shows_the_eal_starting()
    {
        Privileges.RequireRoot();
        var report = DpdkDoctor.Run(startEal: true);
        Assert.True(report.Available, MachineDoctor.Format([report]));
        Assert.Equal("dpdk", report.Backend);
        var eal = Assert.Single(report.Checks, c => c.Name == "EAL");
        Assert.Contains("--no-huge", eal.Detail);
        Assert.Contains(report.Checks, c => c.Name == "shim" && c.Detail.Contains("DPDK 22.11", StringComparison.Ordinal));
    }
}
