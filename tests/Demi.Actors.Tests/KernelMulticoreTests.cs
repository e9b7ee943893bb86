using System.Net;
using System.Net.Sockets;
using System.Text;
using Demi.Tests.Multicore;

namespace Demi.Actors.Tests;

/// <summary>
/// The kernel-socket backend with two shards over 127.0.0.1: a TCP listener is one SO_REUSEPORT
/// socket per shard (the kernel spreads connections, each lives on the shard that accepted it), and
/// the same echo tests as the user-space stack's, with .NET's kernel sockets as the peers.
/// </summary>
public sealed class KernelMulticoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static int Listener(LibOS os, int backlog, out IPEndPoint endpoint)
    {
        Assert.Equal(0, os.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, os.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(0, os.Listen(qd, backlog));
        Assert.Equal(0, os.GetSockName(qd, out var local));
        endpoint = new IPEndPoint(IPAddress.Loopback, local.Port);
        // The other shards' SO_REUSEPORT sockets listen a moment after Listen returns (posted to them):
        // wait until the kernel lists one listening socket per shard, so that connections can spread.
        int port = local.Port;
        Assert.True(SpinWait.SpinUntil(() => ListeningSockets(port) == os.Shards.Count, TimeSpan.FromSeconds(10)),
            $"{ListeningSockets(port)} of {os.Shards.Count} shards listen on port {port}");
        return qd;
    }

    // Sockets in LISTEN (state 0A) on 127.0.0.1:port, from /proc/net/tcp.
    private static int ListeningSockets(int port)
    {
        string local = $"0100007F:{port:X4}";
        return File.ReadLines("/proc/net/tcp").Count(line =>
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 3 && fields[1] == local && fields[3] == "0A";
        });
    }

    [Fact]
    public async Task Two_shards_echo_200_concurrent_tcp_connections_accepted_on_both_shards()
    {
        using var os = new LibOS(new LibOSOptions { ShardCount = 2 });
        int lqd = Listener(os, 256, out var endpoint);
        using var echo = new ShardInlineEcho(os, -1, lqd, acceptsInFlight: 32);
        const int Connections = 200, Rounds = 20, Size = 64;
        using var cts = new CancellationTokenSource(Timeout);
        var clients = new Socket[Connections];
        for (int i = 0; i < Connections; i++)
        {
            clients[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await clients[i].ConnectAsync(endpoint, cts.Token);
        }
        // All 200 are open at once, then each echoes 20 × 64 B.
        int resets = 0;
        var runs = clients.Select(async (s, i) =>
        {
            var buffer = new byte[Size];
            try
            {
                for (int r = 0; r < Rounds; r++)
                {
                    var msg = Encoding.ASCII.GetBytes($"{i:D5}:{r:D5}:".PadRight(Size, 'x'));
                    await s.SendAsync(msg, SocketFlags.None, cts.Token);
                    int got = 0;
                    while (got < Size)
                    {
                        int n = await s.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None, cts.Token);
                        Assert.True(n > 0, "end of stream mid-echo");
                        got += n;
                    }
                    Assert.Equal(msg, buffer);
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                Interlocked.Increment(ref resets);
            }
        }).ToArray();
        await Task.WhenAll(runs);
        Assert.Equal(0, resets);
        foreach (var s in clients)
            s.Dispose();
        Assert.Equal(Connections, echo.Accepted);
        Assert.Equal(Connections * Rounds, echo.TcpEchoes);
        Assert.True(echo.AcceptedPerShard.GetValueOrDefault(0) > 0 && echo.AcceptedPerShard.GetValueOrDefault(1) > 0,
            $"accepted per shard: {string.Join(", ", echo.AcceptedPerShard)}");
        Assert.Empty(echo.Errors);
        Assert.Equal(0, os.Close(lqd));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Two_shards_echo_300_udp_sockets_on_distinct_source_ports(bool socketPerShard)
    {
        using var os = new LibOS(new LibOSOptions { ShardCount = 2 });
        // One socket, or one per shard in a SO_REUSEPORT group (Linux spreads the flows over them).
        var udp = new int[socketPerShard ? 2 : 1];
        var local = new Ipv4Endpoint(Ipv4Address.Loopback, 0);
        for (int i = 0; i < udp.Length; i++)
        {
            Assert.Equal(0, socketPerShard
                ? os.Socket(out udp[i], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard: i)
                : os.Socket(out udp[i], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
            if (socketPerShard)
                Assert.Equal(0, os.SetSockOpt(udp[i], SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)));
            Assert.Equal(0, os.Bind(udp[i], local));
            Assert.Equal(0, os.GetSockName(udp[i], out local));
        }
        var server = new IPEndPoint(IPAddress.Loopback, local.Port);
        using var echo = new ShardInlineEcho(os, udp, -1);
        const int Sockets = 300;
        var sockets = Enumerable.Range(0, Sockets).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            return s;
        }).ToArray();
        Assert.Equal(Sockets, sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port).Distinct().Count());
        // A burst of 300 can overflow a receive buffer (UDP may drop): unanswered sockets resend, up to 5 rounds.
        var pending = new Dictionary<Socket, int>();
        for (int i = 0; i < Sockets; i++)
            pending[sockets[i]] = i;
        var buffer = new byte[2048];
        int wrong = 0, rounds = 0;
        while (pending.Count > 0 && rounds++ < 5)
        {
            foreach (var (s, i) in pending)
                s.SendTo(Encoding.ASCII.GetBytes($"socket-{i:D4}"), server);
            var roundEnd = DateTime.UtcNow + TimeSpan.FromSeconds(1);
            while (pending.Count > 0 && DateTime.UtcNow < roundEnd)
            {
                var readable = pending.Keys.ToList();
                Socket.Select(readable, null, null, 100_000);
                foreach (var s in readable)
                {
                    EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                    int n = s.ReceiveFrom(buffer, ref from);
                    if (pending.TryGetValue(s, out int i) && Encoding.ASCII.GetString(buffer, 0, n) == $"socket-{i:D4}" && server.Equals(from))
                        pending.Remove(s);
                    else
                        wrong++;
                }
            }
        }
        Assert.Empty(pending);
        Assert.Equal(0, wrong); // every socket got its own datagram back, never another's
        foreach (var s in sockets)
            s.Dispose();
        Assert.True(echo.UdpEchoes >= Sockets, $"{echo.UdpEchoes} echoes");
        if (socketPerShard)
            Assert.All(udp, qd => Assert.True(echo.UdpEchoesOn(qd) > 0, $"echoes per shard's socket: {string.Join(", ", udp.Select(echo.UdpEchoesOn))}"));
        Assert.Empty(echo.Errors);
        foreach (int qd in udp)
            Assert.Equal(0, os.Close(qd));
    }

    [Fact]
    public void Closing_a_listener_on_two_shards_cancels_pending_accepts_and_closes_every_shards_socket()
    {
        using var os = new LibOS(new LibOSOptions { ShardCount = 2 });
        int lqd = Listener(os, 64, out var endpoint);
        // Connections from many source ports reach both shards' sockets; all are accepted through the one descriptor.
        const int Connections = 32;
        var accepts = new ulong[Connections];
        for (int i = 0; i < Connections; i++)
            Assert.Equal(0, os.Accept(out accepts[i], lqd));
        var clients = Enumerable.Range(0, Connections).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(endpoint);
            return s;
        }).ToArray();
        var perShard = new int[2];
        foreach (var qt in accepts)
        {
            Assert.Equal(0, os.Wait(out var r, qt, Timeout));
            Assert.False(r.Failed, Errno.Name(r.Error));
            perShard[os.GetActor(r.AcceptedQd)!.Shard.Id]++;
            Assert.Equal(0, os.Close(r.AcceptedQd));
        }
        Assert.True(perShard[0] > 0 && perShard[1] > 0, $"accepted {perShard[0]} / {perShard[1]}");
        foreach (var c in clients)
            c.Dispose();

        Assert.Equal(0, os.Accept(out var pending1, lqd));
        Assert.Equal(0, os.Accept(out var pending2, lqd));
        Assert.Equal(0, os.Close(lqd));
        foreach (var qt in new[] { pending1, pending2 })
        {
            Assert.Equal(0, os.Wait(out var r, qt, Timeout));
            Assert.True(r.Failed);
            Assert.Equal(Errno.ECANCELED, r.Error);
        }
        // The other shard's socket closes on its next round; after that no shard listens.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        int refused = 0;
        while (refused < 16 && DateTime.UtcNow < deadline)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                probe.Connect(endpoint);
                refused = 0; // still listening somewhere: try again
                Thread.Sleep(10);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                refused++;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
            {
                // Linux resets a connection that was in a SO_REUSEPORT listener's queue as it closes: still closing.
                refused = 0;
            }
        }
        Assert.Equal(16, refused);
    }
}
