using System.CommandLine;
using Demi.Cli.CommandLine;
using Demi.Inet;
using System.Text.RegularExpressions;
using Demi.Runtime;
using Demi.Transport.Dpdk;
using Demi.Transport.Xdp;

namespace Demi.Cli.Commands;

/// <summary>
/// The backend options every command that opens a libOS shares (<c>--backend</c> and each
/// backend's own options), defined once. To add a backend: add its name to <see cref="Backends"/>,
/// its options as fields here (added in <see cref="AddTo"/>), and a case in <see cref="Create"/>.
/// </summary>
internal sealed partial class BackendOptions
{
    /// <summary>The backends <c>--backend</c> accepts.</summary>
    public static readonly string[] Backends = ["kernel", "xdp", "dpdk"];

    public readonly Option<string> Backend = CliOptions.Choice("--backend",
        "Network backend: kernel (Linux sockets, no privileges), xdp (AF_XDP on --iface, root) or dpdk (DPDK on --vdev or --eal, root, no hugepages needed); see `demi doctor`", "kernel", Backends);
    public readonly Option<string?> Interface = CliOptions.Text("--iface", "xdp: the interface to attach to", "IF");
    public readonly Option<Ipv4Address?> Ip = CliOptions.Address("--ip", "xdp, dpdk: this stack's IPv4 address");
    public readonly Option<int> Prefix = CliOptions.Int("--prefix", "xdp, dpdk: network prefix length", 24, 0, 32);
    public readonly Option<int> Queue = CliOptions.Int("--queue", "xdp: the NIC RX/TX queue of the first shard; with --cores, shard i serves queue --queue + i (frames steered between the shards by the stack)", 0, 0, 1023);
    public readonly Option<string?> Netns = CliOptions.Text("--netns", "xdp, dpdk: the network namespace the interface lives in", "NAME");
    public readonly Option<string> XdpMode = CliOptions.Choice("--xdp-mode", "xdp: attach mode", "auto", "auto", "native", "generic");
    public readonly Option<string?> Pcap = CliOptions.Text("--pcap", "xdp, dpdk: write what the stack sends and receives to this pcap file", "FILE");
    public readonly Option<string?> Vdev = VdevOption();
    public readonly Option<string[]?> Eal = EalOption();

    public void AddTo(Command command)
    {
        command.Add(Backend);
        command.Add(Interface);
        command.Add(Ip);
        command.Add(Prefix);
        command.Add(Queue);
        command.Add(Netns);
        command.Add(XdpMode);
        command.Add(Pcap);
        command.Add(Vdev);
        command.Add(Eal);
        command.Validators.Add(result =>
        {
            if (!CliOptions.TryGetValue(result, Backend, out var backend))
                return;
            if (backend == "xdp" && result.GetValue(Interface) is null)
                result.AddError("--iface: --backend xdp needs the interface to attach to");
            else if (backend == "dpdk" && CliOptions.TryGetValue(result, Vdev, out var vdev) && vdev is null
                && CliOptions.TryGetValue(result, Eal, out var eal) && eal is null or { Length: 0 })
                result.AddError("--vdev: --backend dpdk needs --vdev DEVARGS (e.g. net_af_packet0,iface=veth0) or --eal \"EAL ARGUMENTS\"");
            else if (backend is "xdp" or "dpdk" && CliOptions.TryGetValue(result, Ip, out var ip) && ip is null)
                result.AddError($"--ip: --backend {backend} needs this stack's IPv4 address");
        });
    }

    /// <summary>The backend the parsed options ask for, or null for the kernel default.</summary>
    public INetworkBackend? Create(ParseResult parse, int shardCount)
    {
        switch (parse.GetValue(Backend))
        {
            case "xdp":
                var stack = new InetStackOptions
                {
                    LocalAddress = parse.GetValue(Ip)!.Value,
                    PrefixLength = parse.GetValue(Prefix),
                    CapturePath = parse.GetValue(Pcap),
                };
                var queue = new XdpQueueOptions
                {
                    Interface = parse.GetValue(Interface)!,
                    QueueId = parse.GetValue(Queue),
                    NetworkNamespace = parse.GetValue(Netns),
                    Mode = parse.GetValue(XdpMode) switch
                    {
                        "native" => Demi.Transport.Xdp.XdpMode.Native,
                        "generic" => Demi.Transport.Xdp.XdpMode.Generic,
                        _ => Demi.Transport.Xdp.XdpMode.Auto,
                    },
                };
                var xdp = XdpBackend.Create(queue, _ => stack, shardCount);
                xdp.StreamTransport = new Demi.Inet.Tcp.TcpTransport(); // TCP on the user-space stack
                return xdp;
            case "dpdk":
                var dpdkStack = new InetStackOptions
                {
                    LocalAddress = parse.GetValue(Ip)!.Value,
                    PrefixLength = parse.GetValue(Prefix),
                    CapturePath = parse.GetValue(Pcap),
                };
                var eal = parse.GetValue(Eal);
                var dpdkOptions = new DpdkOptions
                {
                    Vdev = parse.GetValue(Vdev),
                    NetworkNamespace = parse.GetValue(Netns),
                    EalArguments = eal is null or { Length: 0 } ? null : ["demi", .. eal], // argv0 first, as rte_eal_init wants; absent is an empty array
                };
                var dpdk = DpdkBackend.Create(dpdkOptions, _ => dpdkStack, shardCount);
                dpdk.StreamTransport = new Demi.Inet.Tcp.TcpTransport(); // TCP on the user-space stack
                return dpdk;
            default:
                return null;
        }
    }

    /// <summary>
    /// <c>--vdev</c>: a DPDK virtual device in EAL devargs syntax, <c>DRIVER[,KEY=VALUE]...</c>
    /// (<c>net_af_packet0,iface=veth0</c>), checked here so that a typo is named before the EAL starts.
    /// </summary>
    private static Option<string?> VdevOption() => new("--vdev")
    {
        Description = "dpdk: the virtual device to attach in --netns, e.g. net_af_packet0,iface=IF (net_af_xdp0, net_tap0 also work); qpairs are added for --cores",
        HelpName = "DEVARGS",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (DevargsPattern().IsMatch(text))
                return text;
            result.AddError($"--vdev '{text}': expected DPDK devargs like net_af_packet0,iface=veth0 (a driver name, then KEY=VALUE pairs separated by commas)");
            return null;
        },
    };

    /// <summary>
    /// <c>--eal "ARGS"</c>: the full EAL argument list as one value (quoted, space-separated), used
    /// instead of the generated arguments; the port is the first one those arguments make.
    /// </summary>
    private static Option<string[]?> EalOption() => new("--eal")
    {
        Description = "dpdk: the full EAL argument list as one quoted value, e.g. --eal \"-l 0 --no-huge --no-pci --vdev net_tap0\"; replaces the generated arguments",
        HelpName = "\"ARGS\"",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length > 0)
                return words;
            result.AddError("--eal '': expected the EAL arguments as one quoted value, e.g. --eal \"-l 0 --no-huge --vdev net_tap0\"");
            return null;
        },
    };

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_]*(,[A-Za-z0-9_]+=[^,=\s]+)*$")]
    private static partial Regex DevargsPattern();
}

/// <summary>The libOS options of a command: <c>--cores</c>, <c>--idle</c>, and the <see cref="BackendOptions"/>.</summary>
internal sealed class LibOSCommandOptions
{
    public readonly Option<int[]?> Cores = CliOptions.Cores("--cores", "Cores to run shards on, one shard per core (e.g. 1 or 0-1); default one unpinned shard");
    public readonly Option<string> Idle = CliOptions.Choice("--idle", "What a shard does when idle", "spin-then-park", "spin", "park", "spin-then-park");
    public readonly BackendOptions Backend = new();

    public void AddTo(Command command)
    {
        command.Add(Cores);
        command.Add(Idle);
        Backend.AddTo(command);
    }

    public LibOSOptions Create(ParseResult parse)
    {
        var cores = parse.GetValue(Cores);
        if (cores is { Length: 0 })
            cores = null; // absent: System.CommandLine gives an array option an empty default
        return new LibOSOptions
        {
            Cores = cores is null ? null : CpuSet.Format(cores),
            ShardIdle = IdleStrategy.Parse(parse.GetValue(Idle)!),
            WaitIdle = IdleStrategy.SpinThenPark,
            Backend = Backend.Create(parse, cores?.Length ?? 1),
        };
    }
}
