using System.Runtime.InteropServices;
using Demi.Transport.Dpdk.Internal;
using Demi.Transport.Xdp;

namespace Demi.Transport.Dpdk;

/// <summary>
/// <c>demi doctor</c>'s DPDK report: DPDK's libraries and Demi's shim load, the PMDs Demi uses are
/// installed, the process is root, and, the decisive check, the EAL really starts here with Demi's
/// default arguments (no hugepages, no devices: nothing is sent). Hugepages are reported, not required.
/// </summary>
public static class DpdkDoctor
{
    private static readonly string[] PmdDirectories = ["/usr/lib/x86_64-linux-gnu/dpdk", "/usr/lib/aarch64-linux-gnu/dpdk", "/usr/lib64/dpdk", "/usr/local/lib/dpdk"];

    /// <summary>
    /// Runs the checks. With <paramref name="startEal"/> (the CLI's doctor) the EAL is started in this
    /// process when everything else passed: use it only in a process that needs no other EAL arguments.
    /// </summary>
    public static BackendReport Run(bool startEal)
    {
        var checks = new List<DoctorCheck>();
        bool eal = NativeLibrary.TryLoad("librte_eal.so.23", out var handle);
        if (eal)
            NativeLibrary.Free(handle);
        checks.Add(new DoctorCheck("libraries", eal, eal ? "librte_eal.so.23 (DPDK 22.11) loads" : "librte_eal.so.23 missing: apt-get install dpdk (scripts/install-deps.sh)"));
        string? version = null;
        string shimDetail;
        try
        {
            version = DpdkEal.Version;
            shimDetail = $"libdemi_dpdk.so loads; {version}";
        }
        catch (DllNotFoundException e)
        {
            shimDetail = $"libdemi_dpdk.so (built by Demi.Transport.Dpdk with libdpdk-dev) does not load: {e.Message}";
        }
        checks.Add(new DoctorCheck("shim", version is not null, shimDetail));
        string? pmds = PmdDirectories.Where(Directory.Exists).SelectMany(d => Directory.EnumerateDirectories(d, "pmds-*")).FirstOrDefault();
        foreach (var (pmd, required, use) in new[]
        {
            ("af_packet", true, "net_af_packet, the default on a veth"),
            ("af_xdp", false, "net_af_xdp"),
            ("tap", false, "net_tap"),
            ("ring", false, "net_ring, in-process port pairs (DpdkRingPair)"),
        })
        {
            bool found = pmds is not null && Directory.EnumerateFiles(pmds, $"librte_net_{pmd}.so*").Any();
            checks.Add(new DoctorCheck($"{pmd} PMD", found, found ? $"{use}: {pmds}" : $"{use}: librte_net_{pmd}.so not installed (apt-get install dpdk)", required));
        }
        bool root = OperatingSystem.IsLinux() && LibC.geteuid() == 0;
        checks.Add(new DoctorCheck("privileges", root, root ? "root" : "DPDK's EAL and its raw-socket PMDs need root"));
        long huge = DpdkEal.HugepagesReserved();
        checks.Add(new DoctorCheck("hugepages", huge > 0,
            huge > 0 ? $"{huge} reserved" : "none reserved: Demi runs the EAL with --no-huge (anonymous memory); DpdkOptions.UseHugepages needs some", Required: false));
        if (startEal && checks.All(c => c.Ok || !c.Required))
        {
            var args = new DpdkOptions().BuildEalArguments();
            try
            {
                DpdkEal.Initialize(args);
                checks.Add(new DoctorCheck("EAL", true, $"starts with: {string.Join(' ', args)}"));
            }
            catch (DpdkException e)
            {
                checks.Add(new DoctorCheck("EAL", false, e.Message));
            }
        }
        return new BackendReport("dpdk", checks);
    }
}
