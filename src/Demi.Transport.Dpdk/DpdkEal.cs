using System.Runtime.InteropServices;
using Demi.Transport.Dpdk.Internal;
using Demi.Transport.Xdp;

namespace Demi.Transport.Dpdk;

/// <summary>
/// DPDK's Environment Abstraction Layer, started once per process. <c>rte_eal_init</c> pins its
/// caller to the main lcore, so it runs on a dedicated thread that then ends; later calls with the
/// same arguments reuse it, other arguments are refused (the EAL cannot be restarted). Each failure
/// this machine can produce gets its own message: not root, hugepages wanted but none, a vdev's
/// interface missing, the EAL already up with other arguments, or the EAL's own error.
/// </summary>
public static unsafe class DpdkEal
{
    private const int EPERM = 1, ENOENT = 2, ENOMEM = 12, EEXIST = 17, ENODEV = 19, EINVAL = 22, EALREADY = 114;

    private static readonly Lock s_lock = new();
    private static IReadOnlyList<string>? s_arguments;
    private static DpdkException? s_failure;
    private static DpdkNative.Layout s_layout;

    /// <summary>Whether the EAL is running in this process.</summary>
    public static bool IsInitialized
    {
        get
        {
            lock (s_lock)
                return s_arguments is not null;
        }
    }

    /// <summary>The arguments the EAL was started with (null before).</summary>
    public static IReadOnlyList<string>? Arguments
    {
        get
        {
            lock (s_lock)
                return s_arguments;
        }
    }

    /// <summary>The DPDK version string (loads the shim; the EAL need not be running).</summary>
    public static string Version => Marshal.PtrToStringUTF8(DpdkNative.demi_dpdk_version()) ?? "?";

    internal static ref readonly DpdkNative.Layout Layout => ref s_layout;

    /// <summary>
    /// Starts the EAL with <paramref name="arguments"/> (argv0 first) inside
    /// <paramref name="networkNamespace"/> (vdevs named in the arguments are probed there), or
    /// checks that it already runs with the same arguments.
    /// </summary>
    /// <exception cref="DpdkException">The EAL cannot start; the message says why.</exception>
    public static void Initialize(IReadOnlyList<string> arguments, string? networkNamespace = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (arguments.Count == 0)
            throw new ArgumentException("EAL arguments start with argv0.", nameof(arguments));
        lock (s_lock)
        {
            if (s_arguments is not null)
            {
                if (!s_arguments.SequenceEqual(arguments))
                    throw new DpdkException(
                        $"the DPDK EAL is already initialised in this process with other arguments ({Join(s_arguments)}); asked for ({Join(arguments)}). " +
                        "The EAL starts once per process: use the same arguments, or another process.", EALREADY);
                return;
            }
            if (s_failure is not null)
                throw new DpdkException($"the DPDK EAL failed to start earlier in this process and cannot be retried: {s_failure.Message}", s_failure.Errno);
            CheckMachine(arguments, networkNamespace);
            LoadShim();
            int rc = RunOnDedicatedThread(arguments, networkNamespace);
            if (rc < 0)
            {
                s_failure = new DpdkException(
                    $"rte_eal_init({Join(arguments)}) failed: {DpdkNative.StrError(-rc)} (errno {-rc}){Hint(-rc, arguments)}; the EAL's own messages are on stderr", -rc);
                throw s_failure;
            }
            s_arguments = arguments.ToArray();
            RemoveStaleRuntimeDirectories();
            AppDomain.CurrentDomain.ProcessExit += (_, _) => RemoveRuntimeDirectory($"demi-{Environment.ProcessId}");
        }
    }

    // The EAL makes /var/run/dpdk/PREFIX even with --no-shconf and never removes it: remove ours when
    // the process ends, and empty ones of Demi processes that are gone.
    private static void RemoveStaleRuntimeDirectories()
    {
        const string Root = "/var/run/dpdk";
        if (!Directory.Exists(Root))
            return;
        foreach (var dir in Directory.EnumerateDirectories(Root, "demi-*"))
        {
            string name = Path.GetFileName(dir);
            if (int.TryParse(name.AsSpan(name.LastIndexOf('-') + 1), out int pid) && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
                RemoveRuntimeDirectory(name);
        }
    }

    private static void RemoveRuntimeDirectory(string prefix)
    {
        try
        {
            string dir = Path.Combine("/var/run/dpdk", prefix);
            if (Directory.Exists(dir) && !Directory.EnumerateFileSystemEntries(dir).Any())
                Directory.Delete(dir);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Attaches a virtual device (<c>net_af_packet0,iface=IF</c>, ...) to the running EAL from the
    /// calling thread inside <paramref name="networkNamespace"/>, so its sockets open where the
    /// interface is. Returns the new port's id.
    /// </summary>
    public static ushort AttachVdev(string devargs, string? networkNamespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(devargs);
        if (!IsInitialized)
            throw new InvalidOperationException("Start the EAL (DpdkEal.Initialize) before attaching devices.");
        string name = devargs.Split(',')[0];
        CheckInterface(devargs, networkNamespace);
        int rc;
        using (networkNamespace is null ? null : NetworkNamespaceScope.Enter(networkNamespace))
            rc = DpdkNative.demi_dpdk_vdev_attach(devargs, name);
        if (rc >= 0)
            return (ushort)rc;
        int e = -rc;
        string why = e switch
        {
            EEXIST => $"a device named {name} is already attached in this process (vdev names must be unique)",
            ENOENT or ENODEV => $"DPDK has no driver for '{name}' (the PMD name is the part before the digits: net_af_packet, net_af_xdp, net_tap, net_ring, ...)",
            _ => $"{DpdkNative.StrError(e)} (errno {e})",
        };
        throw new DpdkException($"cannot attach DPDK device '{devargs}': {why}; the PMD's own messages are on stderr", e);
    }

    private static int RunOnDedicatedThread(IReadOnlyList<string> arguments, string? networkNamespace)
    {
        int rc = 0;
        Exception? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                using var scope = networkNamespace is null ? null : NetworkNamespaceScope.Enter(networkNamespace);
                rc = CallEalInit(arguments);
            }
            catch (Exception e)
            {
                error = e;
            }
        })
        { IsBackground = true, Name = "dpdk-eal-init" };
        thread.Start();
        thread.Join();
        if (error is not null)
            throw new DpdkException($"cannot start the DPDK EAL: {error.Message}");
        return rc;
    }

    private static int CallEalInit(IReadOnlyList<string> arguments)
    {
        // The EAL keeps pointers into argv (it permutes it): the strings stay allocated for the process.
        var argv = (byte**)NativeMemory.AllocZeroed((nuint)(arguments.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < arguments.Count; i++)
            argv[i] = (byte*)Marshal.StringToCoTaskMemUTF8(arguments[i]);
        return DpdkNative.demi_dpdk_eal_init(arguments.Count, argv);
    }

    private static void LoadShim()
    {
        try
        {
            DpdkNative.Layout layout;
            DpdkNative.demi_dpdk_layout(&layout);
            s_layout = layout;
        }
        catch (DllNotFoundException e)
        {
            throw new DpdkException(
                $"DPDK cannot be loaded: libdemi_dpdk.so (built with Demi.Transport.Dpdk) or DPDK's libraries are missing (apt-get install dpdk, or scripts/install-deps.sh): {e.Message}");
        }
        // The transport reads an mbuf's reference count itself; make sure this DPDK agrees on where it is.
        if (s_layout.MbufSize != 128 || s_layout.RefCnt != 18)
            throw new DpdkException($"unexpected struct rte_mbuf layout (size {s_layout.MbufSize}, refcnt at {s_layout.RefCnt}): Demi supports DPDK 22.11's");
    }

    private static void CheckMachine(IReadOnlyList<string> arguments, string? networkNamespace)
    {
        if (!OperatingSystem.IsLinux())
            throw new DpdkException("DPDK needs Linux");
        if (LibC.geteuid() != 0)
            throw new DpdkException(
                "DPDK needs root here: its virtual devices open raw sockets (CAP_NET_RAW) and the EAL maps memory and /dev files; run as root", EPERM);
        if (!arguments.Contains("--no-huge") && HugepagesReserved() == 0)
            throw new DpdkException(
                "the DPDK EAL wants hugepages (no --no-huge given) but none are reserved (HugePages_Total is 0 in /proc/meminfo): " +
                "add --no-huge -m 256, or reserve some (echo 256 > /proc/sys/vm/nr_hugepages and mount hugetlbfs)", ENOMEM);
        for (int i = 0; i < arguments.Count; i++)
        {
            string a = arguments[i];
            string? vdev = a.StartsWith("--vdev=", StringComparison.Ordinal) ? a["--vdev=".Length..]
                : a == "--vdev" && i + 1 < arguments.Count ? arguments[i + 1] : null;
            if (vdev is not null)
                CheckInterface(vdev, networkNamespace);
        }
    }

    /// <summary>A vdev's <c>iface=</c> must exist where the device will be probed (the PMD's error would just say "probe failed").</summary>
    private static void CheckInterface(string devargs, string? networkNamespace)
    {
        // net_tap's iface= names the device it creates; only the kernel-attached PMDs need an existing one.
        string driver = devargs.Split(',')[0].TrimEnd("0123456789".ToCharArray());
        if (driver is not ("net_af_packet" or "net_af_xdp"))
            return;
        foreach (var part in devargs.Split(','))
        {
            if (!part.StartsWith("iface=", StringComparison.Ordinal))
                continue;
            string iface = part["iface=".Length..];
            uint index;
            using (networkNamespace is null ? null : NetworkNamespaceScope.Enter(networkNamespace))
                index = LibC.if_nametoindex(iface);
            if (index == 0)
                throw new DpdkException(
                    $"DPDK device '{devargs}': interface '{iface}' does not exist in {(networkNamespace is null ? "this network namespace" : $"network namespace {networkNamespace}")}", ENODEV);
        }
    }

    internal static long HugepagesReserved()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("HugePages_Total:", StringComparison.Ordinal))
                    return long.Parse(line["HugePages_Total:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    private static string Hint(int errno, IReadOnlyList<string> arguments) => errno switch
    {
        EINVAL => " (an argument the EAL rejects: check -l/--lcores against the machine's cores and the option spelling)",
        ENOMEM => " (not enough memory for -m, or hugepages exhausted)",
        13 => arguments.Contains("--no-huge") ? " (permission denied)" : " (hugepage information unavailable: no hugepages reserved or hugetlbfs not mounted)",
        EALREADY => " (rte_eal_init was already called in this process by other code)",
        _ => "",
    };

    private static string Join(IEnumerable<string> args) => string.Join(' ', args);
}
