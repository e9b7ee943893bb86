namespace Demi.Transport.Xdp.Tests;

public sealed class DetachTests
{
    [Theory]
    [InlineData(XdpMode.Native)]
    [InlineData(XdpMode.Generic)]
    public void Dispose_detaches_the_program(XdpMode mode)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using (var q = XdpNicQueue.Open(new XdpQueueOptions { Interface = veth.InterfaceA, NetworkNamespace = veth.NamespaceA, Mode = mode }))
        {
            Assert.Contains("prog/xdp", veth.Run(VethSide.A, "ip", "link", "show", veth.InterfaceA).StandardOutput);
        }
        Assert.DoesNotContain("prog/xdp", veth.Run(VethSide.A, "ip", "link", "show", veth.InterfaceA).StandardOutput);
    }
}
