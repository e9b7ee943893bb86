using System.Diagnostics;

namespace Demi.Inet.Tests.Kernel;

/// <summary>
/// Two network namespaces joined by a veth pair: the kernel side has 10.77.0.1/24 (a real Linux peer),
/// the stack side has no address (so its kernel stays silent) and carries a <see cref="PacketSocketNicQueue"/>.
/// Nothing touches the root namespace; both namespaces are deleted on dispose.
/// </summary>
internal sealed class KernelLink : IDisposable
{
    public static readonly Ipv4Address KernelAddress = Ipv4Address.Parse("10.77.0.1");
    public static readonly Ipv4Address StackAddress = Ipv4Address.Parse("10.77.0.2");
    public static readonly MacAddress StackMac = MacAddress.Parse("02:77:00:00:00:02");

    private static int s_counter;

    public KernelLink()
    {
        if (Environment.UserName != "root")
            Assert.Fail("Kernel-peer tests need root (network namespaces and AF_PACKET); run them as root (CI does).");
        int n = Interlocked.Increment(ref s_counter);
        string id = $"{Environment.ProcessId % 100000}x{n}";
        KernelNs = $"dinet-k{id}";
        StackNs = $"dinet-s{id}";
        string vethK = $"dik{id}", vethS = $"dis{id}";
        try
        {
            Run("ip", $"netns add {KernelNs}");
            Run("ip", $"netns add {StackNs}");
            Run("ip", $"-n {KernelNs} link add {vethK} type veth peer name {vethS} netns {StackNs}");
            Run("ip", $"-n {KernelNs} addr add {KernelAddress}/24 dev {vethK}");
            Run("ip", $"-n {KernelNs} link set {vethK} up");
            Run("ip", $"-n {KernelNs} link set lo up");
            // Else the kernel sends UDP/TCP with only a partial checksum, which a raw socket sees as is.
            Run("ip", $"netns exec {KernelNs} ethtool -K {vethK} tx off");
            Run("ip", $"-n {StackNs} link set {vethS} address {StackMac}");
            Run("ip", $"netns exec {StackNs} sysctl -qw net.ipv6.conf.all.disable_ipv6=1");
            Run("ip", $"-n {StackNs} link set {vethS} up");
            Nic = PacketSocketNicQueue.Open(StackNs, vethS, StackMac);
            Stack = new InetStack(Nic, new InetStackOptions { LocalAddress = StackAddress, PrefixLength = 24 });
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string KernelNs { get; }
    public string StackNs { get; }
    public PacketSocketNicQueue Nic { get; } = null!;
    public InetStack Stack { get; } = null!;

    /// <summary>Starts a command inside the kernel namespace.</summary>
    public Process StartInKernelNs(string command, string arguments)
    {
        var psi = new ProcessStartInfo("ip", $"netns exec {KernelNs} {command} {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        return Process.Start(psi)!;
    }

    /// <summary>Polls the stack until <paramref name="done"/> or the time limit.</summary>
    public bool PollUntil(Func<bool> done, TimeSpan limit, Action? each = null)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < limit)
        {
            Stack.Poll();
            each?.Invoke();
            if (done())
                return true;
            Thread.Sleep(1);
        }
        return false;
    }

    public static string Run(string file, string arguments)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(30_000) || p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} failed ({(p.HasExited ? p.ExitCode : -1)}): {error}");
        return output;
    }

    public void Dispose()
    {
        Stack?.Dispose();
        Nic?.Dispose();
        foreach (var ns in new[] { KernelNs, StackNs })
        {
            if (ns is null)
                continue;
            try { Run("ip", $"netns del {ns}"); } catch (InvalidOperationException) { }
        }
    }
}
