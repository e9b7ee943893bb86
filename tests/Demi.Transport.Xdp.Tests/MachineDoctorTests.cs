namespace Demi.Transport.Xdp.Tests;

public sealed class MachineDoctorTests
{
    [Fact]
    public void Reports_every_backend_with_reasons()
    {
        var reports = MachineDoctor.Run();
        Assert.Equal(["kernel", "xdp"], reports.Select(r => r.Backend));
        Assert.True(reports[0].Available);
        foreach (var r in reports)
        {
            Assert.NotEmpty(r.Checks);
            Assert.Equal(r.Available, r.WhyNot.Length == 0);
        }
        string text = MachineDoctor.Format(reports);
        Assert.Contains("xdp", text);
        Assert.Contains("libxdp", text);
    }

    [Fact]
    public void Xdp_is_available_here_as_root_with_the_packages_installed()
    {
        Privileges.RequireRoot();
        var xdp = MachineDoctor.Xdp();
        Assert.True(xdp.Available, MachineDoctor.Format([xdp]));
    }
}
