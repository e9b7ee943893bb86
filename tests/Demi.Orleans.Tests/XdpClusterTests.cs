using Demi.Hosting;
using Demi.Transport.Xdp;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Demi.Orleans.Tests;

/// <summary>
/// A real 2-silo Orleans cluster in process whose silos run Demi on AF_XDP: each silo's libOS owns the
/// veth end in namespace A of its own pair of namespaces, and a kernel peer (python sockets) in that
/// pair's namespace B talks to a grain-owned socket. Nothing is sent from the root namespace (the
/// silos talk to each other over 127.0.0.1). Needs root, as CI runs; without it the tests fail saying so.
/// </summary>
public sealed class XdpClusterTests : IAsyncLifetime
{
    private const ushort UdpPort = 7100, TcpPort = 7200;
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(60);
    private readonly Dictionary<string, VethNamespaces> _vethBySilo = new();
    private readonly List<VethNamespaces> _veths = new();
    private InProcessTestCluster? _cluster;

    public async Task InitializeAsync()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces and AF_XDP: " + reason);
        try
        {
            for (int i = 0; i < 2; i++)
                _veths.Add(VethNamespaces.Create());
            var builder = new InProcessTestClusterBuilder(2);
            builder.ConfigureSilo((options, silo) =>
            {
                var veth = VethFor(options.SiloName);
                silo.UseDemi(o =>
                {
                    o.Backend = XdpBackendProvider.BackendName;
                    o.Xdp.Interface = veth.InterfaceA;
                    o.Xdp.Namespace = veth.NamespaceA;
                    o.Xdp.Address = $"{veth.AddressA}/{veth.Options.PrefixLength}";
                    o.DrainTimeout = TimeSpan.FromSeconds(10);
                });
            });
            _cluster = builder.Build();
            await _cluster.DeployAsync();
            await _cluster.WaitForLivenessToStabilizeAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
            await _cluster.DisposeAsync();
        _cluster = null;
        foreach (var veth in _veths)
            veth.Dispose(); // deletes the namespaces (and the veth with them)
        _veths.Clear();
    }

    // One veth pair per silo, handed out in the order the silos are built (a restarted silo keeps its own).
    private VethNamespaces VethFor(string siloName)
    {
        lock (_vethBySilo)
        {
            if (!_vethBySilo.TryGetValue(siloName, out var veth))
                _vethBySilo[siloName] = veth = _veths[_vethBySilo.Count];
            return veth;
        }
    }

    private InProcessSiloHandle Silo(string siloAddress) => _cluster!.Silos.Single(s => s.SiloAddress.ToString() == siloAddress);

    private LibOS LibOSOf(string siloAddress)
        => _cluster!.GetSiloServiceProvider(Silo(siloAddress).SiloAddress).GetRequiredService<DemiRuntime>().LibOS;

    [Fact]
    public async Task AGrainOnEachSilo_OverAfXdp_GetsAKernelPeersDatagramsAndBytes_InOrder_AndRepliesReachThePeer()
    {
        const int Datagrams = 2000, TcpBytes = 256 * 1024;
        // Random placement: probe keys until one grain lives on each silo.
        var grains = new Dictionary<string, IPeerGrain>();
        for (int key = 0; grains.Count < 2 && key < 200; key++)
        {
            var grain = _cluster!.Client.GetGrain<IPeerGrain>(key);
            grains.TryAdd(await grain.Silo(), grain);
        }
        Assert.Equal(2, grains.Count);
        Assert.NotSame(LibOSOf(grains.Keys.First()), LibOSOf(grains.Keys.Last())); // one libOS per silo

        foreach (var (silo, grain) in grains)
        {
            Assert.Equal("xdp", LibOSOf(silo).Backend.Name);
            var veth = _vethBySilo[Silo(silo).Name];
            await grain.Open(UdpPort, TcpPort);
            // The kernel peer knows Demi's MAC up front: while its ARP entry is unresolved, Linux queues
            // the first window's datagrams and flushes the queue when the reply lands (in softirq, on the
            // CPU that received it), so the sending thread's next datagram, sent directly on its own CPU,
            // can overtake the queue: CI saw the grain get seq 0, 31, 1, 2, ... UDP keeps the link's order
            // only once resolved. Demi still resolves the peer by ARP for its replies; kernel-to-Demi ARP
            // has its own tests.
            veth.AddNeighbor(VethSide.B, veth.AddressA, veth.MacA);

            var peer = veth.RunPython(VethSide.B, PeerTimeout, PeerScript,
                veth.AddressA, UdpPort.ToString(), Datagrams.ToString(), TcpPort.ToString(), TcpBytes.ToString());
            if (!peer.Succeeded)
            {
                // Say where the datagrams went: the grain's view and the stack's drop counters.
                var seen = await grain.Stats();
                var counters = Demi.Inet.InetBackend.StackOf(LibOSOf(silo).Shards[0])?.Counters;
                Assert.Fail($"kernel peer for {silo} failed (exit {peer.ExitCode}, timed out {peer.TimedOut}): {peer.StandardError} {peer.StandardOutput}" +
                    $"; grain: {seen}; stack: {counters}");
            }
            Assert.Equal($"udp {Datagrams} tcp {TcpBytes}", peer.StandardOutput.Trim());

            // The peer saw the echo end, so the grain has seen the end of stream; its turn may still be finishing.
            PeerStats stats = await grain.Stats();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (stats.TcpStreamsEnded < 1 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
                stats = await grain.Stats();
            }
            Assert.Equal(Datagrams, stats.Datagrams);
            Assert.Equal(0, stats.OutOfOrder);
            Assert.Equal(0, stats.BadContent);
            Assert.Equal(0, stats.Dropped);
            Assert.Equal(TcpBytes, stats.TcpBytes);
            Assert.Equal(0, stats.TcpBadBytes);
            Assert.Equal(1, stats.TcpStreamsEnded);
            Assert.Equal(0, stats.OnShardThread);
            Assert.Equal(0, stats.OffScheduler);
            Assert.Equal(0, stats.Overlaps);
        }
    }

    [Fact]
    public async Task OverAfXdp_AGrainConnectsToAKernelListener_AndDeactivationClosesItsSockets()
    {
        var grain = _cluster!.Client.GetGrain<IPeerGrain>(0);
        string silo = await grain.Silo();
        var veth = _vethBySilo[Silo(silo).Name];
        var libOS = LibOSOf(silo);
        int before = libOS.OpenDescriptors;

        // Outbound: a grain-owned TCP connection to a kernel listener in namespace B.
        var listener = veth.Start(VethSide.B, "python3", "-c", ListenerScript, veth.AddressB, "7300");
        var ready = listener.StandardOutput.ReadLineAsync();
        if (await Task.WhenAny(ready, Task.Delay(PeerTimeout)) != ready || await ready != "listening")
            Assert.Fail("the kernel listener did not start: " + (listener.HasExited ? listener.StandardError.ReadToEnd() : "no output"));
        string reply = await grain.Call(veth.AddressB, 7300, "hello from a grain over af_xdp");
        Assert.Equal("reply:hello from a grain over af_xdp", reply);
        Assert.True(listener.WaitForExit(PeerTimeout), "the kernel listener did not finish");
        Assert.Equal(0, listener.ExitCode);

        // Inbound sockets serve a kernel peer, then deactivation closes them and the stack refuses the peer.
        await grain.Open(UdpPort, TcpPort);
        Assert.Equal(2, await grain.OpenDescriptors()); // UDP + listener (the outbound connection is closed)
        var probe = veth.RunPython(VethSide.B, PeerTimeout, ConnectProbe, veth.AddressA, TcpPort.ToString());
        Assert.Equal("connected", probe.StandardOutput.Trim());
        await grain.Deactivate();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (libOS.OpenDescriptors != before && DateTime.UtcNow < deadline)
            await Task.Delay(10);
        Assert.Equal(before, libOS.OpenDescriptors);
        probe = veth.RunPython(VethSide.B, PeerTimeout, ConnectProbe, veth.AddressA, TcpPort.ToString());
        Assert.Equal("refused", probe.StandardOutput.Trim());
    }

    private const string ListenerScript = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
s.settimeout(30)
print('listening', flush=True)
c, _ = s.accept()
c.settimeout(10)
msg = b''
while len(msg) < len(b'hello from a grain over af_xdp'):
    b = c.recv(4096)
    if not b:
        break
    msg += b
c.sendall(b'reply:' + msg)
c.close()
""";

    // Prints connected, refused (an RST answered the SYN) or timeout.
    private const string ConnectProbe = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5).close()
    print('connected')
except ConnectionRefusedError:
    print('refused')
except socket.timeout:
    print('timeout')
""";

    // Kernel peer in namespace B. UDP: windows of 32 datagrams, then their 32 replies, each checked in
    // order against "ack:" + the datagram. TCP: sends the stream pattern while reading the echo, shuts
    // its side down, reads to the grain's FIN and compares everything.
    private const string PeerScript = """
import socket, sys, threading
addr, udp_port, n, tcp_port, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def datagram(seq):
    return b'seq:%06d|' % seq + bytes((seq * 31 + i) % 251 for i in range(seq % 200))

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(5)
replies = 0
for base in range(0, n, 32):
    window = [datagram(s) for s in range(base, min(base + 32, n))]
    for d in window:
        u.sendto(d, (addr, udp_port))
    for d in window:
        try:
            r, _ = u.recvfrom(65535)
        except socket.timeout:
            sys.exit('udp: no reply for seq %d after %d replies' % (int(d[4:10]), replies))
        if r != b'ack:' + d:
            sys.exit('udp: reply %d is %r, expected ack of seq %d' % (replies, r[:20], int(d[4:10])))
        replies += 1

pattern = bytes((o * 7 + o // 251) % 256 for o in range(total))
t = socket.create_connection((addr, tcp_port), timeout=10)
t.settimeout(20)
def send():
    for o in range(0, total, 16384):
        t.sendall(pattern[o:o + 16384])
    t.shutdown(socket.SHUT_WR)
sender = threading.Thread(target=send)
sender.start()
echo = bytearray()
while True:
    b = t.recv(65536)
    if not b:
        break
    echo += b
sender.join()
if bytes(echo) != pattern:
    first = next((i for i in range(min(len(echo), total)) if echo[i] != pattern[i]), min(len(echo), total))
    sys.exit('tcp: echo of %d bytes differs from the %d sent at offset %d' % (len(echo), total, first))
print('udp', replies, 'tcp', len(echo), flush=True)
""";
}
