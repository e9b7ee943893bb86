using System.Diagnostics;
using System.Security.Cryptography;
using Demi.Inet;
using Demi.Transport.Xdp;
using Demi.Transport.Xdp.Tests;

namespace Demi.Tests.Shared;

/// <summary>
/// Test bodies the AF_XDP and DPDK backend tests share: a Demi libOS on side A of a
/// <see cref="VethNamespaces"/> pair against the Linux kernel on side B (ping, python3 peers, socat),
/// or against another Demi libOS on side B. Each asserts what every backend must do; the callers add
/// their backend's own checks around it.
/// </summary>
internal static class KernelPeerScenarios
{
    /// <summary>
    /// The kernel on B pings Demi on A five times: every echo is answered, and the kernel learned
    /// Demi's MAC through ARP (no static entry was added). Returns ping's result.
    /// </summary>
    public static CommandResult KernelPingsDemiAfterArp(VethNamespaces veth)
    {
        var ping = veth.Run(VethSide.B, TimeSpan.FromSeconds(20), "ping", "-c", "5", "-i", "0.2", "-W", "2", veth.AddressA);
        Assert.True(ping.Succeeded, ping.StandardOutput + ping.StandardError);
        Assert.Contains("5 received", ping.StandardOutput);
        var neigh = veth.Run(VethSide.B, "ip", "neigh", "show", veth.AddressA).StandardOutput;
        Assert.Contains(veth.MacA.ToString(), neigh);
        Assert.DoesNotContain("PERMANENT", neigh);
        return ping;
    }

    /// <summary>A Demi UDP echo server on <paramref name="port"/> of <paramref name="libOS"/> (see <see cref="DemiOverVeth.StartUdpEcho"/>).</summary>
    public static DemiUdpEcho StartDemiUdpEcho(LibOS libOS, int port = 7) => new(libOS, BindUdp(libOS, port));

    /// <summary>A UDP socket of <paramref name="libOS"/> bound to <paramref name="port"/> (0: an ephemeral one) on any address.</summary>
    public static int BindUdp(LibOS libOS, int port)
    {
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, (ushort)port)));
        return qd;
    }

    /// <summary>A python3 kernel client on B sends <paramref name="count"/> datagrams to <paramref name="echo"/> (port 7 on A): every one comes back, echoed by Demi.</summary>
    public static void KernelUdpClientIsEchoed(VethNamespaces veth, DemiUdpEcho echo, int count)
    {
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), KernelPeer.UdpEchoClient, veth.AddressA, "7", count.ToString(), "2");
        client.EnsureSuccess("python echo client");
        Assert.Equal($"ok {count}", client.StandardOutput.Trim());
        Assert.Equal(count, echo.Echoed);
    }

    /// <summary>
    /// 300 malformed frames from the kernel side between two rounds of a kernel UDP client against a
    /// Demi echo server on port 7: both rounds are echoed in full, and the stack dropped and counted
    /// every malformed frame.
    /// </summary>
    public static void MalformedBurstIsDroppedAndCountedWhileEchoKeepsWorking(VethNamespaces veth, LibOS libOS, TimeSpan timeout)
    {
        var echo = StartDemiUdpEcho(libOS);
        var first = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "20", "2");
        Assert.Equal("ok 20", first.StandardOutput.Trim());
        long dropsBefore = InetBackend.StackOf(libOS.Shards[0])!.Counters.TotalDrops;
        var burst = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.MalformedBurst, veth.InterfaceB,
            veth.MacA.ToString(), veth.MacB.ToString(), veth.AddressB, veth.AddressA, "50");
        burst.EnsureSuccess("malformed burst");
        Assert.Equal("300", burst.StandardOutput.Trim());
        var second = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "20", "2");
        Assert.Equal("ok 20", second.StandardOutput.Trim());
        var counters = InetBackend.StackOf(libOS.Shards[0])!.Counters;
        Assert.True(counters.TotalDrops - dropsBefore >= 300, $"drops {counters.TotalDrops - dropsBefore}: {counters}");
        echo.Stop(timeout);
    }

    /// <summary>A python3 kernel UDP echo server on B's address, port 7, serving <paramref name="count"/> datagrams (started: it said "ready").</summary>
    public static Process StartKernelUdpEchoServer(VethNamespaces veth, int count)
    {
        var peer = veth.Start(VethSide.B, "python3", "-c", KernelPeer.UdpEchoServer, veth.AddressB, "7", count.ToString(), "10");
        Assert.Equal("ready", peer.StandardOutput.ReadLine());
        return peer;
    }

    /// <summary>The kernel echo server of <see cref="StartKernelUdpEchoServer"/> echoed all <paramref name="count"/> datagrams, and the kernel learned Demi's MAC by ARP.</summary>
    public static void AssertKernelUdpEchoServerDone(VethNamespaces veth, Process peer, int count)
    {
        Assert.True(peer.WaitForExit(10_000));
        Assert.Equal($"done {count}", peer.StandardOutput.ReadLine());
        Assert.Contains(veth.MacA.ToString(), veth.Run(VethSide.B, "ip", "neigh", "show", veth.AddressA).StandardOutput);
    }

    /// <summary>
    /// A python3 kernel client on B moves <paramref name="total"/> bytes each way through a Demi TCP
    /// echo server listening on port 7000 of <paramref name="libOS"/> (on A): the kernel client sees
    /// what it sent come back (SHA-256), and the server echoed every byte and saw the end of stream.
    /// Returns the client's output fields (its last: seconds) and the listening descriptor, still open.
    /// </summary>
    public static (string[] Client, int ListenQd) KernelClientMovesThroughDemiEcho(VethNamespaces veth, LibOS libOS, int total, TimeSpan timeout)
    {
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, libOS.Listen(lqd, 8));
        var server = TcpPeers.EchoOneConnection(libOS, lqd, timeout);
        var client = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(120), TcpPeers.KernelBulkEchoClient,
            veth.AddressA, "7000", total.ToString(), "42", "30");
        var parts = TcpPeers.ParseClient(client);
        // The kernel client compares the SHA-256 of what it sent and what came back.
        Assert.Equal(parts[0], parts[1]);
        Assert.Equal(total.ToString(), parts[2]);
        Assert.True(server.Wait(timeout), "server did not see the end of stream");
        Assert.Equal(total, server.Result);
        return (parts, lqd);
    }

    /// <summary>socat on B echoing one TCP connection on B's address, port <paramref name="port"/>.</summary>
    public static Process StartSocatEcho(VethNamespaces veth, int port)
    {
        // socat's PIPE echo blocks in a pipe write (and so deadlocks against itself) when a block larger
        // than PIPE_BUF meets a nearly full pipe under bulk load both ways: keep blocks at PIPE_BUF.
        return veth.Start(VethSide.B, "socat", "-b", "4096", $"TCP4-LISTEN:{port},bind={veth.AddressB},reuseaddr", "PIPE");
    }

    /// <summary>The socat of <see cref="StartSocatEcho"/> exited 0: it does so only once both directions closed cleanly (FIN, not RST).</summary>
    public static void AssertSocatClosedCleanly(Process socat)
    {
        Assert.True(socat.WaitForExit(20_000), "socat did not exit after the close");
        Assert.True(socat.ExitCode == 0, $"socat exit {socat.ExitCode}: {socat.StandardError.ReadToEnd()}");
    }

    /// <summary>
    /// A Demi client (<paramref name="clientOS"/>) moves <paramref name="total"/> random bytes each way
    /// through a Demi TCP echo server (<paramref name="serverOS"/>, listening on <paramref name="server"/>'s
    /// port): the echo hashes equal, the client's close is seen by the server as end of stream, and the
    /// server echoed every byte. Returns the transfer time and the server's listening descriptor, still open.
    /// </summary>
    public static (TimeSpan Elapsed, int ListenQd) DemiClientMovesThroughDemiEcho(LibOS serverOS, LibOS clientOS, Ipv4Endpoint server,
        int total, int seed, TimeSpan timeout)
    {
        Assert.Equal(0, serverOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, serverOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, server.Port)));
        Assert.Equal(0, serverOS.Listen(lqd, 8));
        var echo = TcpPeers.EchoOneConnection(serverOS, lqd, timeout);
        int qd = ConnectWithRetry(clientOS, server, timeout);
        var data = new byte[total];
        new Random(seed).NextBytes(data);
        var (hash, _, elapsed) = TcpPeers.BulkThroughEcho(clientOS, qd, data, 1400, timeout);
        Assert.Equal(SHA256.HashData(data), hash);
        Assert.Equal(0, clientOS.Close(qd));
        // The server sees our FIN as end of stream, closes, and reports every byte echoed.
        Assert.True(echo.Wait(timeout), "server did not see the end of stream");
        Assert.Equal(total, echo.Result);
        return (elapsed, lqd);
    }

    /// <summary>Connects (the peer may still be starting: a refused connect is retried for a few seconds).</summary>
    public static int ConnectWithRetry(LibOS libOS, Ipv4Endpoint remote, TimeSpan timeout)
    {
        for (int attempt = 0; ; attempt++)
        {
            Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
            Assert.Equal(0, libOS.Connect(out var qt, qd, remote));
            Assert.Equal(0, libOS.Wait(out var r, qt, timeout));
            if (!r.Failed)
                return qd;
            libOS.Close(qd);
            if (r.Error != Errno.ECONNREFUSED || attempt >= 20)
                throw new Xunit.Sdk.XunitException($"connect to {remote}: {Errno.Name(r.Error)}");
            Thread.Sleep(200);
        }
    }
}

/// <summary>A Demi UDP echo server thread on a bound socket (<see cref="DemiOverVeth.StartUdpEcho"/>), counting completed echoes.</summary>
internal sealed class DemiUdpEcho
{
    private readonly LibOS _libOS;
    private readonly Thread _thread;
    private int _echoed;

    public DemiUdpEcho(LibOS libOS, int qd)
    {
        _libOS = libOS;
        Qd = qd;
        _thread = DemiOverVeth.StartUdpEcho(libOS, qd, () => Interlocked.Increment(ref _echoed));
    }

    /// <summary>The server's socket.</summary>
    public int Qd { get; }

    /// <summary>Datagrams echoed so far (a push that completed).</summary>
    public int Echoed => Volatile.Read(ref _echoed);

    /// <summary>Closes the socket and asserts that this ended the server thread (its pending pop fails).</summary>
    public void Stop(TimeSpan timeout)
    {
        _libOS.Close(Qd);
        Assert.True(_thread.Join(timeout), "closing the descriptor did not end the server thread's pending pop");
    }
}
