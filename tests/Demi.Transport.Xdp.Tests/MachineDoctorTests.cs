namespace Demi.Transport.Xdp.Tests;

/// <summary>The doctor's verdicts and their wording, checked against what actually happens.</summary>
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
    public void A_failed_required_check_makes_the_backend_unavailable_and_says_why_but_a_warning_does_not()
    {
        var broken = new BackendReport("xdp",
        [
            new DoctorCheck("privileges", false, "needs root"),
            new DoctorCheck("bpffs", false, "not mounted", Required: false),
        ]);
        var warned = new BackendReport("xdp", [new DoctorCheck("kernel", true, "ok"), new DoctorCheck("bpffs", false, "not mounted", Required: false)]);
        Assert.False(broken.Available);
        Assert.Contains("needs root", broken.WhyNot);
        Assert.DoesNotContain("not mounted", broken.WhyNot);
        Assert.True(warned.Available);
        string text = MachineDoctor.Format([broken, warned]);
        Assert.Contains("xdp     NOT available (", text);
        Assert.Contains("[FAIL] privileges: needs root", text);
        Assert.Contains("[warn] bpffs: not mounted", text);
        Assert.Contains("xdp     available", text);
    }

    [Fact]
    public void The_xdp_verdict_agrees_with_opening_an_af_xdp_queue()
    {
        // Not "this machine has AF_XDP": whatever the machine, the doctor must predict what Open does.
        Privileges.RequireRoot();
        var verdict = MachineDoctor.Xdp();
        using var veth = VethNamespaces.Create();
        string? failure = null;
        try
        {
            using var queue = XdpNicQueue.Open(new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA, QueueId = 0 });
        }
        catch (XdpException e)
        {
            failure = e.Message;
        }
        Assert.True(verdict.Available == (failure is null),
            $"doctor says {(verdict.Available ? "available" : "NOT available")}, Open {(failure is null ? "worked" : "failed: " + failure)}\n{MachineDoctor.Format([verdict])}");
    }
}
