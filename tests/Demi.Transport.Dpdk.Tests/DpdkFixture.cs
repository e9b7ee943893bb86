using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Transport.Dpdk.Tests;

/// <summary>
/// The EAL starts once per process, so every test that uses DPDK is in this collection: one EAL for
/// the whole assembly (started by the fixture), fresh devices per test (a net_af_packet device attached
/// in that test's namespace and detached when its backend is disposed, or a <see cref="DpdkRingPair"/>
/// the test disposes). The tests run one at a time.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DpdkCollection : ICollectionFixture<DpdkEalFixture>
{
    public const string Name = "dpdk";
}

/// <summary>Starts the assembly's EAL with Demi's default arguments (no hugepages).</summary>
public sealed class DpdkEalFixture
{
    public DpdkEalFixture()
    {
        if (Environment.IsPrivilegedProcess)
            DpdkEal.Initialize(new DpdkOptions().BuildEalArguments());
    }
}

/// <summary>Builds libOS instances over DPDK on one side of a <see cref="VethNamespaces"/> pair.</summary>
internal static class DpdkOverVeth
{
    private static int s_device;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>A unique vdev for <paramref name="side"/>'s interface (vdev names are process-wide).</summary>
    public static DpdkOptions Options(VethNamespaces veth, VethSide side, int poolSize = 8192) => new()
    {
        Vdev = $"net_af_packet{Interlocked.Increment(ref s_device)},iface={veth.InterfaceOf(side)}",
        NetworkNamespace = veth.NamespaceOf(side),
        PoolSize = poolSize,
    };

    /// <summary>A libOS over DPDK (net_af_packet) on <paramref name="side"/> with the side's address, TCP when <paramref name="tcp"/>.</summary>
    public static LibOS Create(VethNamespaces veth, VethSide side, out DpdkBackend backend, bool tcp = false, int poolSize = 8192, IdleStrategy? idle = null)
    {
        string address = side == VethSide.A ? veth.AddressA : veth.AddressB;
        backend = DpdkBackend.Create(Options(veth, side, poolSize), new InetStackOptions { LocalAddress = Ipv4Address.Parse(address), PrefixLength = 24 });
        if (tcp)
            backend.StreamTransport = new TcpTransport();
        try
        {
            return new LibOS(new LibOSOptions { Backend = backend, ShardCount = 1, ShardIdle = idle ?? IdleStrategy.SpinThenPark });
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }
}
