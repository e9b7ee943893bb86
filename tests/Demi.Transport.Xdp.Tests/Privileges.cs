using Demi.Transport.Xdp;

namespace Demi.Transport.Xdp.Tests;

/// <summary>These tests need root (namespaces, XDP). CI runs as root; elsewhere they fail saying why.</summary>
internal static class Privileges
{
    public static void RequireRoot()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces and AF_XDP: " + reason);
    }
}
