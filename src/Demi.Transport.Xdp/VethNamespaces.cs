using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using Demi.Inet;
using Demi.Transport.Xdp.Internal;

namespace Demi.Transport.Xdp;

/// <summary>
/// Two fresh network namespaces joined by a veth pair: the only place test and benchmark traffic
/// may go (the root namespace routes off the machine). The veth is created directly inside the
/// namespaces, so it never exists in the root namespace. Commands (kernel peers) run inside with
/// <c>ip netns exec</c> or <c>nsenter</c>; in-process code enters a side with <see cref="Enter"/>.
/// <see cref="Dispose"/> kills started peers and deletes both namespaces (which removes the veth);
/// it also runs at process exit, and <see cref="CleanStale"/> removes what a killed run left behind.
/// Names are <c>demi-PID-SEQ-a</c>/<c>-b</c> so that a leftover's owner can be checked.
/// </summary>
public sealed partial class VethNamespaces : IDisposable
{
    private static readonly TimeSpan SetupTimeout = TimeSpan.FromSeconds(30);
    private static int s_sequence;
    private static readonly ConcurrentDictionary<VethNamespaces, byte> s_live = new();
    private static int s_exitHooked;
    private static PosixSignalRegistration[]? s_signals;

    private readonly ConcurrentBag<Process> _processes = new();
    private int _disposed;

    private Process? _relay;

    private VethNamespaces(VethOptions options, string nsA, string nsB, string? nsRelay)
    {
        Options = options;
        NamespaceA = nsA;
        NamespaceB = nsB;
        RelayNamespace = nsRelay;
    }

    /// <summary>The options the pair was built with.</summary>
    public VethOptions Options { get; }

    /// <summary>Name of namespace A (under <c>/run/netns</c>).</summary>
    public string NamespaceA { get; }

    /// <summary>Name of namespace B.</summary>
    public string NamespaceB { get; }

    /// <summary>
    /// Name of the middle namespace the impairing relay runs in (<c>demi-PID-SEQ-m</c>), or null when A
    /// and B are joined directly (no <see cref="VethOptions.Impairment"/>).
    /// </summary>
    public string? RelayNamespace { get; }

    /// <summary>The veth end inside namespace A.</summary>
    public string InterfaceA => "demi-a";

    /// <summary>The veth end inside namespace B.</summary>
    public string InterfaceB => "demi-b";

    /// <summary>IPv4 address of side A.</summary>
    public string AddressA => Options.AddressA;

    /// <summary>IPv4 address of side B.</summary>
    public string AddressB => Options.AddressB;

    /// <summary>MAC address of the veth end in A.</summary>
    public MacAddress MacA { get; private set; }

    /// <summary>MAC address of the veth end in B.</summary>
    public MacAddress MacB { get; private set; }

    /// <summary>Number of RX/TX queues on each end.</summary>
    public int QueueCount => Options.QueueCount;

    /// <summary>The namespace name of <paramref name="side"/>.</summary>
    public string NamespaceOf(VethSide side) => side == VethSide.A ? NamespaceA : NamespaceB;

    /// <summary>The interface name of <paramref name="side"/>.</summary>
    public string InterfaceOf(VethSide side) => side == VethSide.A ? InterfaceA : InterfaceB;

    /// <summary>Whether this process can build namespaces (it must be root, or hold CAP_SYS_ADMIN and CAP_NET_ADMIN).</summary>
    public static bool CanCreate(out string reason)
    {
        if (!OperatingSystem.IsLinux())
        {
            reason = "network namespaces need Linux";
            return false;
        }
        if (LibC.geteuid() != 0)
        {
            reason = "creating network namespaces needs root (run the tests as root, as CI does)";
            return false;
        }
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip"))
        {
            reason = "iproute2 ('ip') is not installed: run scripts/install-deps.sh";
            return false;
        }
        reason = "";
        return true;
    }

    /// <summary>Builds the namespaces and the veth pair. Cleans stale leftovers of killed runs first.</summary>
    public static VethNamespaces Create(VethOptions? options = null)
    {
        options ??= new VethOptions();
        if (!CanCreate(out var reason))
            throw new XdpException(reason);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.QueueCount, 1);
        CleanStale();

        int pid = Environment.ProcessId;
        int seq = Interlocked.Increment(ref s_sequence);
        var fixture = new VethNamespaces(options, $"demi-{pid}-{seq}-a", $"demi-{pid}-{seq}-b",
            options.Impairment is null ? null : $"demi-{pid}-{seq}-m");
        s_live.TryAdd(fixture, 0);
        HookProcessExit();
        try
        {
            fixture.Build();
        }
        catch
        {
            fixture.Dispose();
            throw;
        }
        return fixture;
    }

    private void Build()
    {
        // A leftover with our own pid can only come from a dead process that had it before.
        DeleteNamespace(NamespaceA);
        DeleteNamespace(NamespaceB);
        Ip("netns", "add", NamespaceA);
        Ip("netns", "add", NamespaceB);
        string q = Options.QueueCount.ToString(CultureInfo.InvariantCulture);
        string mtu = Options.Mtu.ToString(CultureInfo.InvariantCulture);
        if (RelayNamespace is { } nsM)
        {
            DeleteNamespace(nsM);
            Ip("netns", "add", nsM);
            // Two pairs, A to M and M to B, each created straight inside its namespaces.
            Ip("link", "add", InterfaceA, "netns", NamespaceA, "numtxqueues", q, "numrxqueues", q, "type", "veth",
                "peer", "name", ImpairingRelay.InterfaceTowardsA, "netns", nsM, "numtxqueues", q, "numrxqueues", q);
            Ip("link", "add", ImpairingRelay.InterfaceTowardsB, "netns", nsM, "numtxqueues", q, "numrxqueues", q, "type", "veth",
                "peer", "name", InterfaceB, "netns", NamespaceB, "numtxqueues", q, "numrxqueues", q);
            // The middle kernel must stay silent (no IPv6 neighbour discovery of its own on the wire).
            Command.Run("ip", ["netns", "exec", nsM, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"], SetupTimeout);
            foreach (var dev in new[] { ImpairingRelay.InterfaceTowardsA, ImpairingRelay.InterfaceTowardsB })
            {
                Command.Run("ip", ["netns", "exec", nsM, "sysctl", "-qw", $"net.ipv6.conf.{dev}.disable_ipv6=1"], SetupTimeout);
                Ip("-n", nsM, "link", "set", dev, "mtu", mtu, "up");
                // Frames must reach the relay as they were on the wire: no merging on receive.
                Command.Run("ip", ["netns", "exec", nsM, "ethtool", "-K", dev, "gro", "off"], SetupTimeout);
            }
        }
        else
        {
            // Create the pair straight inside the namespaces: it never appears in the root namespace.
            Ip("link", "add", InterfaceA, "netns", NamespaceA, "numtxqueues", q, "numrxqueues", q, "type", "veth",
                "peer", "name", InterfaceB, "netns", NamespaceB, "numtxqueues", q, "numrxqueues", q);
        }
        foreach (var side in new[] { VethSide.A, VethSide.B })
        {
            string ns = NamespaceOf(side);
            Ip("-n", ns, "link", "set", "lo", "up");
            Ip("-n", ns, "link", "set", InterfaceOf(side), "mtu", mtu, "up");
        }
        string prefix = "/" + Options.PrefixLength.ToString(CultureInfo.InvariantCulture);
        if (Options.KernelAddressOnA)
            Ip("-n", NamespaceA, "addr", "add", AddressA + prefix, "dev", InterfaceA);
        if (Options.KernelAddressOnB)
            Ip("-n", NamespaceB, "addr", "add", AddressB + prefix, "dev", InterfaceB);
        if (Options.PeerTxChecksumOff)
            Run(VethSide.B, "ethtool", "-K", InterfaceB, "tx", "off").EnsureSuccess("ethtool -K tx off");
        MacA = ReadMac(VethSide.A);
        MacB = ReadMac(VethSide.B);
        if (RelayNamespace is { } relayNs)
        {
            // The relay copies frames one by one: the kernel peer must not hand it 64 KB GSO/TSO super-frames.
            Run(VethSide.B, "ethtool", "-K", InterfaceB, "tso", "off", "gso", "off");
            _relayStatisticsPath = Path.Combine(Path.GetTempPath(), relayNs + ".relay.json");
            _relay = ImpairingRelay.Start(this, relayNs, Options.Impairment!, _relayStatisticsPath, SetupTimeout);
        }
    }

    private string? _relayStatisticsPath;

    /// <summary>
    /// The impairing relay's counters (written by the relay twice a second, so up to 0.5 s old).
    /// Throws if there is no relay (<see cref="VethOptions.Impairment"/> not set) or it has died.
    /// </summary>
    public RelayStatistics RelayStatistics
    {
        get
        {
            if (_relay is null || _relayStatisticsPath is null)
                throw new InvalidOperationException("no impairing relay: set VethOptions.Impairment");
            if (_relay.HasExited)
                throw new XdpException($"impairing relay exited ({_relay.ExitCode}): {_relay.StandardError.ReadToEnd()}");
            return ImpairingRelay.Read(_relayStatisticsPath);
        }
    }

    /// <summary>Starts a long-running command in namespace <paramref name="ns"/>, killed on <see cref="Dispose"/>.</summary>
    internal Process StartIn(string ns, string file, params string[] args)
    {
        var p = Command.Start("ip", ["netns", "exec", ns, file, .. args]);
        _processes.Add(p);
        return p;
    }

    private MacAddress ReadMac(VethSide side)
    {
        var r = Ip("-n", NamespaceOf(side), "-j", "link", "show", InterfaceOf(side));
        using var doc = JsonDocument.Parse(r.StandardOutput);
        return MacAddress.Parse(doc.RootElement[0].GetProperty("address").GetString()!);
    }

    /// <summary>
    /// Runs a command inside <paramref name="side"/>'s namespace through <c>ip netns exec</c>
    /// (which also shows that namespace's /sys) and waits for it, 30 s at most.
    /// </summary>
    public CommandResult Run(VethSide side, string file, params string[] args)
        => Run(side, SetupTimeout, file, args);

    /// <summary>Runs a command inside <paramref name="side"/>'s namespace with a time limit.</summary>
    public CommandResult Run(VethSide side, TimeSpan timeout, string file, params string[] args)
        => Command.Run("ip", ["netns", "exec", NamespaceOf(side), file, .. args], timeout);

    /// <summary>
    /// Runs a command inside <paramref name="side"/>'s namespace through <c>nsenter --net</c>, which
    /// keeps the host's mounts (bpffs stays visible, unlike with <c>ip netns exec</c>).
    /// </summary>
    public CommandResult RunNsenter(VethSide side, TimeSpan timeout, string file, params string[] args)
        => Command.Run("nsenter", ["--net=/run/netns/" + NamespaceOf(side), "--", file, .. args], timeout);

    /// <summary>Runs a python3 script inside <paramref name="side"/>; <paramref name="args"/> become sys.argv[1:].</summary>
    public CommandResult RunPython(VethSide side, TimeSpan timeout, string script, params string[] args)
        => Command.Run("ip", ["netns", "exec", NamespaceOf(side), "python3", "-c", script, .. args], timeout);

    /// <summary>
    /// Starts a long-running command (a kernel peer such as an echo server) inside <paramref name="side"/>.
    /// Its stdout/stderr are redirected; it is killed on <see cref="Dispose"/> if still running.
    /// </summary>
    public Process Start(VethSide side, string file, params string[] args)
    {
        var p = Command.Start("ip", ["netns", "exec", NamespaceOf(side), file, .. args]);
        _processes.Add(p);
        return p;
    }

    /// <summary>Moves the calling thread into <paramref name="side"/>'s namespace until the scope is disposed.</summary>
    public NetworkNamespaceScope Enter(VethSide side) => NetworkNamespaceScope.Enter(NamespaceOf(side));

    /// <summary>Pins a permanent neighbour entry in <paramref name="side"/>'s kernel (for tests that do not exercise ARP).</summary>
    public void AddNeighbor(VethSide side, string address, MacAddress mac)
        => Ip("-n", NamespaceOf(side), "neigh", "replace", address, "lladdr", mac.ToString(), "dev", InterfaceOf(side), "nud", "permanent");

    /// <summary>Sets a kernel offload on one end, e.g. <c>SetOffload(VethSide.B, "tx", false)</c>.</summary>
    public void SetOffload(VethSide side, string feature, bool on)
        => Run(side, "ethtool", "-K", InterfaceOf(side), feature, on ? "on" : "off").EnsureSuccess($"ethtool -K {feature}");

    /// <summary>
    /// Deletes <c>demi-PID-SEQ-a/b</c> namespaces whose owning process is gone (a crashed or killed
    /// run). Returns how many were removed. Namespaces of live processes are left alone.
    /// </summary>
    public static int CleanStale()
    {
        var list = Command.Run("ip", ["netns", "list"], SetupTimeout);
        if (!list.Succeeded)
            return 0;
        int removed = 0;
        foreach (var line in list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            var m = OwnNamespace().Match(name);
            if (!m.Success)
                continue;
            int pid = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            if (pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}"))
                continue;
            if (DeleteNamespace(name))
                removed++;
        }
        return removed;
    }

    private static bool DeleteNamespace(string name)
    {
        if (!File.Exists("/run/netns/" + name))
            return false;
        return Command.Run("ip", ["netns", "del", name], SetupTimeout).Succeeded;
    }

    private static CommandResult Ip(params string[] args)
        => Command.Run("ip", args, SetupTimeout).EnsureSuccess("ip " + string.Join(' ', args));

    private static void HookProcessExit()
    {
        if (Interlocked.Exchange(ref s_exitHooked, 1) != 0)
            return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DisposeLive();
        // A SIGTERM or Ctrl-C ends the process without running ProcessExit's cleanup to completion (the
        // peers it waits for are not reaped by then, and the namespaces stayed): clean up in the signal
        // handler first, then let the signal's default action end the process. (A signal the process
        // was started ignoring, SIGINT in a background job or SIGHUP under nohup, stays ignored: .NET
        // runs no handler for it.)
        s_signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => DisposeLive()),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => DisposeLive()),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, _ => DisposeLive()),
        ];
    }

    private static void DisposeLive()
    {
        foreach (var f in s_live.Keys)
            f.Dispose();
    }

    /// <summary>Kills started peers and deletes both namespaces (and so the veth). Never throws.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        s_live.TryRemove(this, out _);
        foreach (var p in _processes)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    p.WaitForExit(TimeSpan.FromSeconds(5));
                }
            }
            catch (InvalidOperationException) { }
            catch (System.ComponentModel.Win32Exception) { }
            p.Dispose();
        }
        try { DeleteNamespace(NamespaceA); } catch (Exception) { }
        try { DeleteNamespace(NamespaceB); } catch (Exception) { }
        if (RelayNamespace is not null)
        {
            try { DeleteNamespace(RelayNamespace); } catch (Exception) { }
            try { if (_relayStatisticsPath is not null) File.Delete(_relayStatisticsPath); } catch (IOException) { }
        }
    }

    [GeneratedRegex(@"^demi-(\d+)-\d+-[abm]$")]
    private static partial Regex OwnNamespace();
}
