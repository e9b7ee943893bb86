using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// <c>demi doctor</c>: probes whether this machine can run the kernel and AF_XDP backends and says
/// why not (DPDK's report is <c>Demi.Transport.Dpdk.DpdkDoctor</c>). Probing creates no traffic and changes nothing.
/// </summary>
public static class MachineDoctor
{
    private const int CapNetAdmin = 12;
    private const int CapSysAdmin = 21;
    private const int CapIpcLock = 14;
    private const int CapPerfmon = 38;
    private const int CapBpf = 39;
    private const int AF_XDP = 44;
    private const int SOCK_RAW = 3;

    /// <summary>Runs every check.</summary>
    public static IReadOnlyList<BackendReport> Run() => [Kernel(), Xdp()];

    /// <summary>A printable report of <paramref name="reports"/>.</summary>
    public static string Format(IReadOnlyList<BackendReport> reports)
    {
        var sb = new StringBuilder();
        foreach (var r in reports)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{r.Backend,-7} {(r.Available ? "available" : "NOT available")}");
            if (!r.Available)
                sb.Append(CultureInfo.InvariantCulture, $" ({r.WhyNot})");
            sb.AppendLine();
            foreach (var c in r.Checks)
                sb.AppendLine(CultureInfo.InvariantCulture, $"  [{(c.Ok ? "ok" : c.Required ? "FAIL" : "warn")}] {c.Name}: {c.Detail}");
        }
        return sb.ToString();
    }

    /// <summary>Kernel sockets work everywhere, without privileges.</summary>
    public static BackendReport Kernel()
        => new("kernel", [new DoctorCheck("sockets", true, "Linux kernel sockets need no privileges")]);

    /// <summary>AF_XDP: privileges, kernel support, libxdp/libbpf, bpffs, memlock.</summary>
    public static BackendReport Xdp()
    {
        var checks = new List<DoctorCheck>();
        ulong caps = EffectiveCapabilities();
        bool root = OperatingSystem.IsLinux() && LibC.geteuid() == 0;
        bool netAdmin = Has(caps, CapNetAdmin);
        bool bpf = Has(caps, CapSysAdmin) || (Has(caps, CapBpf) && Has(caps, CapPerfmon));
        checks.Add(new DoctorCheck("privileges", netAdmin && bpf,
            netAdmin && bpf ? (root ? "root" : "CAP_NET_ADMIN and CAP_BPF/CAP_SYS_ADMIN")
                : "needs root, or CAP_NET_ADMIN plus CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN), to load XDP programs"));
        checks.Add(new DoctorCheck("kernel", KernelHasAfXdp(out var kernelDetail), kernelDetail));
        checks.Add(new DoctorCheck("libxdp", CanLoad("libxdp.so.1"), CanLoad("libxdp.so.1") ? "libxdp.so.1 loads" : "libxdp.so.1 missing: apt-get install libxdp1 (scripts/install-deps.sh)"));
        checks.Add(new DoctorCheck("libbpf", CanLoad("libbpf.so.1"), CanLoad("libbpf.so.1") ? "libbpf.so.1 loads" : "libbpf.so.1 missing: apt-get install libbpf1 (scripts/install-deps.sh)"));
        bool bpffs = Mounts().Any(m => m.Type == "bpf");
        checks.Add(new DoctorCheck("bpffs", bpffs,
            bpffs ? "mounted" : "not mounted: libxdp loads one program per interface without its dispatcher (fine for Demi); 'mount -t bpf bpf /sys/fs/bpf' enables it",
            Required: false));
        string memlock = MemlockLimit();
        checks.Add(new DoctorCheck("memlock", Has(caps, CapIpcLock) || memlock == "unlimited",
            Has(caps, CapIpcLock) ? $"RLIMIT_MEMLOCK {memlock}, CAP_IPC_LOCK lifts it for the UMEM" : $"RLIMIT_MEMLOCK {memlock}: a UMEM larger than that fails without CAP_IPC_LOCK",
            Required: false));
        return new BackendReport("xdp", checks);
    }

    private static bool Has(ulong caps, int bit) => (caps & (1UL << bit)) != 0;

    private static ulong EffectiveCapabilities()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return ulong.Parse(line.AsSpan(7).Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        return 0;
    }

    private static bool KernelHasAfXdp(out string detail)
    {
        string release = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "?";
        if (!OperatingSystem.IsLinux())
        {
            detail = "AF_XDP needs Linux";
            return false;
        }
        // Creating (and closing) an AF_XDP socket is the direct test; it sends nothing.
        int fd = LibC.socket(AF_XDP, SOCK_RAW | LibC.SOCK_CLOEXEC, 0);
        if (fd >= 0)
        {
            LibC.close(fd);
            detail = $"Linux {release}, AF_XDP sockets available";
            return true;
        }
        int e = Marshal.GetLastSystemError();
        detail = $"Linux {release}: socket(AF_XDP) failed: {LibC.StrError(e)}" + (e == 97 ? " (kernel built without CONFIG_XDP_SOCKETS)" : "");
        return false;
    }

    private static bool CanLoad(string name)
    {
        if (!NativeLibrary.TryLoad(name, out var handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
    }

    private static IEnumerable<(string Path, string Type)> Mounts()
    {
        if (!File.Exists("/proc/mounts"))
            yield break;
        foreach (var line in File.ReadLines("/proc/mounts"))
        {
            var parts = line.Split(' ');
            if (parts.Length > 2)
                yield return (parts[1], parts[2]);
        }
    }

    private static string MemlockLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
                if (line.StartsWith("Max locked memory", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return parts[3] == "unlimited" ? "unlimited" : $"{long.Parse(parts[3], CultureInfo.InvariantCulture) / 1024} KiB";
                }
        }
        catch (IOException) { }
        return "?";
    }
}
