using System.Runtime.InteropServices;

namespace Demi.Transport.Xdp.Tests;

internal static unsafe partial class TestNative
{
    /// <summary>Loads and attaches libxdp's default AF_XDP program without a socket (simulates a crashed run).</summary>
    [LibraryImport("libxdp.so.1")]
    public static partial int xsk_setup_xdp_prog(int ifindex, int* xsksMapFd);
}
