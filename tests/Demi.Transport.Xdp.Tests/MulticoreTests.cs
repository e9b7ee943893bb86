using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Tests.Multicore;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Many cores, one libOS, against real kernel peers: Demi on a multi-queue veth with two shards (the
/// kernel spreads its flows over the queues), a listener on every shard, UDP sockets reached from
/// whichever queue their datagrams land on.
/// </summary>
public sealed class MulticoreTests(ITestOutputHelper output)
{
    /// <summary>
    /// argv: ip, port, connections, rounds, size, timeout. All connections connect, meet at a barrier
    /// (so they are open at once), then each echoes rounds × size bytes. Prints "ok N resets R errors E [first errors]".
    /// </summary>
    internal const string TcpConcurrentEchoClient = """
import socket, sys, threading
ip, port, conns, rounds, size, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
ok = 0; resets = 0; errors = []
lock = threading.Lock()
barrier = threading.Barrier(conns)
def run(i):
    global ok, resets
    try:
        s = socket.create_connection((ip, port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        barrier.wait(timeout)
        for r in range(rounds):
            msg = (b'%05d:%05d:' % (i, r)).ljust(size, b'x')
            s.sendall(msg)
            got = b''
            while len(got) < size:
                d = s.recv(size - len(got))
                if not d: raise EOFError('eof after %d bytes' % len(got))
                got += d
            if got != msg: raise ValueError('mismatch')
        s.close()
        with lock: ok += 1
    except ConnectionResetError:
        with lock: resets += 1
    except Exception as e:
        with lock: errors.append(repr(e))
ts = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
for t in ts: t.start()
for t in ts: t.join()
print('ok', ok, 'resets', resets, 'errors', len(errors), errors[:3], flush=True)
""";

    /// <summary>
    /// argv: ip, port, sockets, timeout. Each socket (its own source port) sends one datagram naming it and
    /// must get exactly that back; unanswered ones are resent once a second (UDP may lose the first
    /// frames to address resolution). Prints "ok N wrong W resent R".
    /// </summary>
    internal const string UdpManySocketsClient = """
import socket, sys, select, time
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3]); timeout = float(sys.argv[4])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 0)); s.setblocking(False); socks.append(s)
assert len(set(s.getsockname()[1] for s in socks)) == n
pending = {s.fileno(): (s, b'socket-%04d-' % i + bytes(range(40))) for i, s in enumerate(socks)}
got = 0; wrong = 0; rounds = 0; deadline = time.monotonic() + timeout
while pending and time.monotonic() < deadline:
    rounds += 1
    for s, msg in list(pending.values()): s.sendto(msg, dst)
    round_end = time.monotonic() + 1.0
    while pending and time.monotonic() < round_end:
        r, _, _ = select.select([s for s, _ in pending.values()], [], [], 0.1)
        for s in r:
            d, a = s.recvfrom(2048)
            fd = s.fileno()
            if fd in pending and d == pending[fd][1] and a == dst:
                del pending[fd]; got += 1
            else:
                wrong += 1
print('ok', got, 'wrong', wrong, 'resent', rounds - 1, flush=True)
""";

    /// <summary>argv: ip, port, attempts. Connects that many times (fresh source ports); prints "refused R connected C other O".</summary>
    internal const string TcpRefusedProbe = """
import socket, sys
refused = connected = other = 0
for i in range(int(sys.argv[3])):
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((sys.argv[1], int(sys.argv[2]))); connected += 1
    except ConnectionRefusedError:
        refused += 1
    except Exception:
        other += 1
    s.close()
print('refused', refused, 'connected', connected, 'other', other, flush=True)
""";

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void Two_shards_echo_200_concurrent_kernel_tcp_connections_and_300_udp_sockets(int queues)
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = queues });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: queues, tcp: true, shards: 2);
        Assert.Equal(2, libOS.Shards.Count);
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7300)));
        Assert.Equal(0, libOS.Listen(lqd, 256));
        Assert.Equal(0, libOS.Socket(out int uqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(uqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        using var echo = new ShardInlineEcho(libOS, uqd, lqd, acceptsInFlight: 32);

        const int Connections = 200, Rounds = 20, Size = 64;
        var tcp = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(90), TcpConcurrentEchoClient,
            veth.AddressA, "7300", Connections.ToString(), Rounds.ToString(), Size.ToString(), "30");
        tcp.EnsureSuccess("tcp client");
        output.WriteLine($"{queues} queues, tcp: {tcp.StandardOutput.Trim()}; accepted per shard {string.Join(", ", echo.AcceptedPerShard.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"))}");
        Assert.StartsWith($"ok {Connections} resets 0 errors 0", tcp.StandardOutput.Trim());
        Assert.Equal(Connections, echo.Accepted);
        Assert.Equal(Connections * Rounds, echo.TcpEchoes); // each 64 B request comes as one segment here
        // Connections live on both shards, and no segment met a shard that did not know its flow.
        Assert.True(echo.AcceptedPerShard.GetValueOrDefault(0) > 0 && echo.AcceptedPerShard.GetValueOrDefault(1) > 0,
            $"accepted per shard: {string.Join(", ", echo.AcceptedPerShard)}");
        for (int s = 0; s < 2; s++)
            Assert.Equal(0, TcpTransport.LayerOf(libOS.Shards[s])!.Statistics.ResetsSent);

        const int Sockets = 300;
        var udp = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), UdpManySocketsClient, veth.AddressA, "7", Sockets.ToString(), "20");
        udp.EnsureSuccess("udp client");
        output.WriteLine($"udp: {udp.StandardOutput.Trim()}; steered {backend.Steering!.ForwardedFrames} frames, {backend.Steering.Wakeups} wake-ups");
        Assert.StartsWith($"ok {Sockets} wrong 0", udp.StandardOutput.Trim());
        Assert.True(backend.Steering.ForwardedFrames > 0, "nothing was steered: the kernel used one queue only");
        Assert.Equal(0, backend.Steering.DroppedFrames);
        Assert.Empty(echo.Errors);
        Assert.Equal(0, libOS.Close(uqd));
        Assert.Equal(0, libOS.Close(lqd));
    }

    [Fact]
    public void A_udp_SO_REUSEPORT_socket_on_each_shard_echoes_300_kernel_sockets_with_nothing_steered()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2, shards: 2);
        var udp = new int[2];
        for (int shard = 0; shard < udp.Length; shard++)
        {
            Assert.Equal(0, libOS.Socket(out udp[shard], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard));
            Assert.Equal(0, libOS.SetSockOpt(udp[shard], SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)));
            Assert.Equal(0, libOS.Bind(udp[shard], new Ipv4Endpoint(Ipv4Address.Any, 7)));
        }
        using var echo = new ShardInlineEcho(libOS, udp, -1);
        const int Sockets = 300;
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), UdpManySocketsClient, veth.AddressA, "7", Sockets.ToString(), "20");
        client.EnsureSuccess("udp client");
        output.WriteLine($"udp: {client.StandardOutput.Trim()}; echoed on shard 0: {echo.UdpEchoesOn(udp[0])}, shard 1: {echo.UdpEchoesOn(udp[1])}; steered {backend.Steering!.ForwardedFrames}");
        Assert.StartsWith($"ok {Sockets} wrong 0", client.StandardOutput.Trim());
        // The kernel spread its sockets over both queues, and each shard's socket served its own queue's datagrams.
        Assert.True(echo.UdpEchoesOn(udp[0]) > 0 && echo.UdpEchoesOn(udp[1]) > 0,
            $"echoed on shard 0: {echo.UdpEchoesOn(udp[0])}, shard 1: {echo.UdpEchoesOn(udp[1])}");
        Assert.Equal(0, backend.Steering.ForwardedFrames); // no datagram moved between shards (ARP replies are copies, counted apart)
        Assert.Empty(echo.Errors);
        foreach (int qd in udp)
            Assert.Equal(0, libOS.Close(qd));
    }

    [Fact]
    public void A_listener_on_two_shards_accepts_on_both_and_closing_it_cancels_accepts_and_refuses_everywhere()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out var backend, queues: 2, tcp: true);
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7400)));
        Assert.Equal(0, libOS.Listen(lqd, 64));
        const int Connections = 24;
        var accepts = new ulong[Connections];
        for (int i = 0; i < Connections; i++)
            Assert.Equal(0, libOS.Accept(out accepts[i], lqd));
        var clients = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), TcpConcurrentEchoClient,
            veth.AddressA, "7400", Connections.ToString(), "0", "64", "20");
        clients.EnsureSuccess("tcp clients");
        Assert.StartsWith($"ok {Connections} resets 0", clients.StandardOutput.Trim());
        var shards = new int[2];
        foreach (var qt in accepts)
        {
            var r = DemiOverVeth.WaitOk(libOS, qt);
            shards[libOS.GetActor(r.AcceptedQd)!.Shard.Id]++;
            Assert.Equal(0, libOS.Close(r.AcceptedQd));
        }
        output.WriteLine($"accepted on shard 0: {shards[0]}, shard 1: {shards[1]}");
        Assert.True(shards[0] > 0 && shards[1] > 0, $"accepted {shards[0]} / {shards[1]}");

        // Pending accepts (all queued on the listener) fail with ECANCELED when it closes.
        Assert.Equal(0, libOS.Accept(out var pending1, lqd));
        Assert.Equal(0, libOS.Accept(out var pending2, lqd));
        Assert.Equal(0, libOS.Close(lqd));
        foreach (var qt in new[] { pending1, pending2 })
        {
            Assert.Equal(0, libOS.Wait(out var r, qt, DemiOverVeth.Timeout));
            Assert.True(r.Failed);
            Assert.Equal(Errno.ECANCELED, r.Error);
        }
        Assert.Equal(0, backend.Inet.Ports.BindingCount(6, 7400));
        // The replica's close is posted to its shard: give it a moment, then every connect (flows hashing
        // to either shard) is refused.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (TcpTransport.LayerOf(libOS.Shards[0])!.OpenSockets + TcpTransport.LayerOf(libOS.Shards[1])!.OpenSockets > 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(10);
        var probe = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), TcpRefusedProbe, veth.AddressA, "7400", "16");
        probe.EnsureSuccess("probe");
        Assert.Equal("refused 16 connected 0 other 0", probe.StandardOutput.Trim());
    }

    [Fact]
    public async Task Cli_echo_server_with_cores_0_1_serves_nic_queues_0_and_1()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create(new VethOptions { QueueCount = 2 });
        string demi = Path.Combine(AppContext.BaseDirectory, "demi.dll");
        Assert.True(File.Exists(demi), $"{demi} is missing");
        // Exactly the README's command, with this test's interface and addresses.
        var server = veth.Start(VethSide.A, "dotnet", demi, "echo", "server", "--proto", "udp", "--backend", "xdp",
            "--iface", veth.InterfaceA, "--ip", veth.AddressA, "--bind", $"{veth.AddressA}:7", "--cores", "0-1");
        string? ready = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        output.WriteLine(ready ?? "(no output) " + await server.StandardError.ReadToEndAsync());
        Assert.StartsWith("demi echo server (udp, xdp backend)", ready);
        // 300 flows: the kernel transmits them on both of its queues, so datagrams land on both of
        // Demi's; each flow keeps its queue, so a queue nobody served would leave its flows unanswered.
        var udp = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), UdpManySocketsClient, veth.AddressA, "7", "300", "15");
        udp.EnsureSuccess("udp client");
        output.WriteLine(udp.StandardOutput.Trim());
        Assert.StartsWith("ok 300 wrong 0", udp.StandardOutput.Trim());
        var rx = veth.Run(VethSide.A, "ethtool", "-S", veth.InterfaceA);
        output.WriteLine(rx.StandardOutput);
        server.Kill();
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }
}
