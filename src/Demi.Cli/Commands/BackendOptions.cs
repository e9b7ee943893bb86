using System.CommandLine;
using Demi.Cli.CommandLine;
using Demi.Inet;
using Demi.Runtime;
using Demi.Transport.Xdp;

namespace Demi.Cli.Commands;

/// <summary>
/// The backend options every command that opens a libOS shares (<c>--backend</c> and each
/// backend's own options), defined once. To add a backend: add its name to <see cref="Backends"/>,
/// its options as fields here (added in <see cref="AddTo"/>), and a case in <see cref="Create"/>.
/// </summary>
internal sealed class BackendOptions
{
    /// <summary>The backends <c>--backend</c> accepts.</summary>
    public static readonly string[] Backends = ["kernel", "xdp"];

    public readonly Option<string> Backend = CliOptions.Choice("--backend",
        "Network backend: kernel (Linux sockets, no privileges) or xdp (AF_XDP on --iface, root; see `demi doctor`)", "kernel", Backends);
    public readonly Option<string?> Interface = CliOptions.Text("--iface", "xdp: the interface to attach to", "IF");
    public readonly Option<Ipv4Address?> Ip = CliOptions.Address("--ip", "xdp: this stack's IPv4 address");
    public readonly Option<int> Prefix = CliOptions.Int("--prefix", "xdp: network prefix length", 24, 0, 32);
    public readonly Option<int> Queue = CliOptions.Int("--queue", "xdp: the NIC RX/TX queue of the first shard; with --cores, shard i serves queue --queue + i (frames steered between the shards by the stack)", 0, 0, 1023);
    public readonly Option<string?> Netns = CliOptions.Text("--netns", "xdp: the network namespace the interface lives in", "NAME");
    public readonly Option<string> XdpMode = CliOptions.Choice("--xdp-mode", "xdp: attach mode", "auto", "auto", "native", "generic");
    public readonly Option<string?> Pcap = CliOptions.Text("--pcap", "xdp: write what the stack sends and receives to this pcap file", "FILE");

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
        command.Validators.Add(result =>
        {
            if (!CliOptions.TryGetValue(result, Backend, out var backend) || backend != "xdp")
                return;
            if (result.GetValue(Interface) is null)
                result.AddError("--iface: --backend xdp needs the interface to attach to");
            else if (CliOptions.TryGetValue(result, Ip, out var ip) && ip is null)
                result.AddError("--ip: --backend xdp needs this stack's IPv4 address");
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
            default:
                return null;
        }
    }
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
