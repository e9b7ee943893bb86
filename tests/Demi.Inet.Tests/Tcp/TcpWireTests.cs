using Xunit.Abstractions;
using System.Security.Cryptography;
using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Two TCP layers over the in-test lossy, reordering, duplicating pipe.</summary>
public sealed class TcpWireTests(ITestOutputHelper output)
{
    private static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static (TcpSocket Listener, TcpSocket Client, TcpSocket Server) Connect(LossyPipe pipe, ushort port = 80)
    {
        var listener = pipe.B.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, port)));
        Assert.Equal(0, listener.Listen(128));
        var client = pipe.A.CreateSocket();
        Assert.Equal(0, client.Connect(new Ipv4Endpoint(LossyPipe.AddressB, port)));
        TcpSocket? server = null;
        Assert.True(pipe.Run(() => client.State == TcpState.Established && listener.Accept(out server) == 0), "handshake did not complete");
        return (listener, client, server!);
    }

    [Theory]
    [InlineData(TcpCongestionAlgorithm.Cubic, 10 * 1024 * 1024, 11)]
    [InlineData(TcpCongestionAlgorithm.NewReno, 2 * 1024 * 1024, 12)]
    public void Bulk_EachWay_OverLossyReorderingDuplicatingWire_ArrivesIntact(TcpCongestionAlgorithm algorithm, int size, int seed)
    {
        using var pipe = new LossyPipe(seed);
        pipe.Loss = 0.02;
        pipe.Reorder = 0.05;
        pipe.Duplicate = 0.01;
        int poolStart = pipe.Pool.Available;
        var (listener, client, server) = Connect(pipe);
        client.CongestionAlgorithm = algorithm;
        server.CongestionAlgorithm = algorithm;
        byte[] aToB = RandomBytes(size, seed), bToA = RandomBytes(size, seed + 100);
        using var a = new TcpStream(client, aToB);
        using var b = new TcpStream(server, bToA);
        bool finished = pipe.Run(() => a.Eof && b.Eof || a.FailedWith != 0 || b.FailedWith != 0, () =>
        {
            a.Pump();
            b.Pump();
        });
        Assert.Equal(0, a.FailedWith);
        Assert.Equal(0, b.FailedWith);
        Assert.True(finished, $"transfer stalled: a got {a.Received}, b got {b.Received}");
        Assert.Equal(size, b.Received);
        Assert.Equal(size, a.Received);
        Assert.Equal(SHA256.HashData(aToB), b.Hash());
        Assert.Equal(SHA256.HashData(bToA), a.Hash());
        Assert.True(pipe.Dropped > 20, "the wire should have lost segments");
        output.WriteLine($"{algorithm}: {size} B each way in {(pipe.Clock.NowMicroseconds - 1_000_000) / 1e6:F2} s virtual; delivered {pipe.Delivered}, dropped {pipe.Dropped}, duplicated {pipe.Duplicated}; "
            + $"A: sent {pipe.A.Statistics.SegmentsSent} rtx {pipe.A.Statistics.Retransmissions} rto {pipe.A.Statistics.RetransmitTimeouts} fast {pipe.A.Statistics.FastRetransmits}; "
            + $"B: sent {pipe.B.Statistics.SegmentsSent} rtx {pipe.B.Statistics.Retransmissions} rto {pipe.B.Statistics.RetransmitTimeouts} fast {pipe.B.Statistics.FastRetransmits}");
        Assert.True(pipe.A.Statistics.Retransmissions > 0 && pipe.B.Statistics.Retransmissions > 0);
        Assert.Equal(0, client.Close());
        Assert.Equal(0, server.Close());
        Assert.Equal(0, listener.Close());
        pipe.RunFor(200_000_000);
        Assert.Equal(0, pipe.A.ConnectionCount);
        Assert.Equal(0, pipe.B.ConnectionCount);
        Assert.Equal(0, pipe.A.OpenSockets + pipe.B.OpenSockets);
        pipe.DrainInFlight();
        Assert.Equal(poolStart, pipe.Pool.Available);
    }

    [Fact]
    public void ThousandSequentialConnections_ExchangeAndClose_WithoutLeaks()
    {
        var config = new TcpConfig { RandomSeed = 3, MslMicroseconds = 500_000 };
        using var pipe = new LossyPipe(3, config, new TcpConfig { RandomSeed = 4, MslMicroseconds = 500_000 });
        int poolStart = pipe.Pool.Available;
        var listener = pipe.B.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(LossyPipe.AddressB, 7)));
        Assert.Equal(0, listener.Listen(16));
        var request = RandomBytes(64, 1);
        var ports = new HashSet<ushort>();
        for (int i = 0; i < 1000; i++)
        {
            var client = pipe.A.CreateSocket();
            Assert.Equal(0, client.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 7)));
            ports.Add(client.LocalEndpoint.Port);
            TcpSocket? server = null;
            using var c = new TcpStream(client, request);
            TcpStream? s = null;
            bool ok = pipe.Run(() => c.Eof && s is { Eof: true }, () =>
            {
                if (server is null && listener.Accept(out server) == 0)
                    s = new TcpStream(server!, request);
                c.Pump();
                s?.Pump();
            });
            Assert.True(ok, $"connection {i} did not finish");
            Assert.Equal(64, c.Received);
            Assert.Equal(64, s!.Received);
            Assert.Equal(0, client.Close());
            Assert.Equal(0, server!.Close());
            s.Dispose();
        }
        Assert.True(ports.Count > 900, "ephemeral ports should vary");
        pipe.RunFor(5_000_000);
        Assert.Equal(0, listener.Close());
        Assert.Equal(0, pipe.A.ConnectionCount);
        Assert.Equal(0, pipe.B.ConnectionCount);
        Assert.Equal(0, pipe.A.OpenSockets);
        Assert.Equal(0, pipe.B.OpenSockets);
        pipe.DrainInFlight();
        Assert.Equal(poolStart, pipe.Pool.Available);
    }

    [Fact]
    public void HundredConcurrentConnections_OverLossyWire_WithoutLeaks()
    {
        using var pipe = new LossyPipe(5);
        pipe.Loss = 0.01;
        pipe.Reorder = 0.02;
        pipe.Duplicate = 0.01;
        int poolStart = pipe.Pool.Available;
        var listener = pipe.B.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 9000)));
        Assert.Equal(0, listener.Listen(128));
        var clients = new List<TcpStream>();
        var servers = new List<TcpStream>();
        for (int i = 0; i < 100; i++)
        {
            var socket = pipe.A.CreateSocket();
            Assert.Equal(0, socket.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 9000)));
            clients.Add(new TcpStream(socket, RandomBytes(20_000 + i, i)));
        }
        bool ok = pipe.Run(() => servers.Count == 100 && clients.All(c => c.Eof) && servers.All(s => s.Eof), () =>
        {
            while (listener.Accept(out var server) == 0)
                servers.Add(new TcpStream(server!, RandomBytes(5_000, 1)));
            foreach (var c in clients)
                c.Pump();
            foreach (var s in servers)
                s.Pump();
        });
        Assert.True(ok, "not all connections finished");
        Assert.All(clients, c => Assert.Equal(5_000, c.Received));
        Assert.Equal(clients.Sum(c => 20_000L + (c.Socket.LocalEndpoint.Port * 0)) + Enumerable.Range(0, 100).Sum(), servers.Sum(s => s.Received));
        foreach (var s in clients.Concat(servers))
        {
            Assert.Equal(0, s.Socket.Close());
            s.Dispose();
        }
        Assert.Equal(0, listener.Close());
        pipe.RunFor(200_000_000);
        Assert.Equal(0, pipe.A.ConnectionCount);
        Assert.Equal(0, pipe.B.ConnectionCount);
        Assert.Equal(0, pipe.A.OpenSockets + pipe.B.OpenSockets);
        pipe.DrainInFlight();
        Assert.Equal(poolStart, pipe.Pool.Available);
    }

    [Fact]
    public void SimultaneousClose_BothSidesPassThroughClosingAndTimeWait()
    {
        using var pipe = new LossyPipe(7);
        var (listener, client, server) = Connect(pipe);
        Assert.Equal(0, client.Shutdown(TcpShutdown.Write));
        Assert.Equal(0, server.Shutdown(TcpShutdown.Write));
        var seenA = new HashSet<TcpState>();
        var seenB = new HashSet<TcpState>();
        Assert.True(pipe.Run(() => client.State == TcpState.TimeWait && server.State == TcpState.TimeWait, () =>
        {
            seenA.Add(client.State);
            seenB.Add(server.State);
        }));
        Assert.Contains(TcpState.Closing, seenA);
        Assert.Contains(TcpState.Closing, seenB);
        Assert.Equal(0, client.Receive(out var eofA));
        Assert.Equal(0, eofA.Length);
        Assert.Equal(0, server.Receive(out var eofB));
        Assert.Equal(0, eofB.Length);
        Assert.Equal(0, pipe.A.Statistics.ResetsSent + pipe.B.Statistics.ResetsSent);
        pipe.RunFor(61_000_000);
        Assert.Equal(TcpState.Closed, client.State);
        Assert.Equal(TcpState.Closed, server.State);
        Assert.Equal(0, client.Error);
        Assert.Equal(0, client.Close());
        Assert.Equal(0, server.Close());
        Assert.Equal(0, listener.Close());
        Assert.Equal(0, pipe.A.ConnectionCount + pipe.B.ConnectionCount);
    }

    [Fact]
    public void SimultaneousOpen_Establishes()
    {
        using var pipe = new LossyPipe(8);
        var a = pipe.A.CreateSocket();
        var b = pipe.B.CreateSocket();
        Assert.Equal(0, a.Bind(new Ipv4Endpoint(LossyPipe.AddressA, 5000)));
        Assert.Equal(0, b.Bind(new Ipv4Endpoint(LossyPipe.AddressB, 6000)));
        Assert.Equal(0, a.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 6000)));
        Assert.Equal(0, b.Connect(new Ipv4Endpoint(LossyPipe.AddressA, 5000)));
        Assert.True(pipe.Run(() => a.State == TcpState.Established && b.State == TcpState.Established), $"{a} / {b}");
        using var sa = new TcpStream(a, RandomBytes(3000, 1));
        using var sb = new TcpStream(b, RandomBytes(4000, 2));
        Assert.True(pipe.Run(() => sa.Eof && sb.Eof, () => { sa.Pump(); sb.Pump(); }));
        Assert.Equal(4000, sa.Received);
        Assert.Equal(3000, sb.Received);
    }

    [Fact]
    public void NewSyn_ReopensTimeWaitConnection()
    {
        var clientConfig = new TcpConfig { RandomSeed = 13 };
        using var pipe = new LossyPipe(13, clientConfig);
        var listener = pipe.B.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(4));
        for (int round = 0; round < 2; round++)
        {
            // The same client port each time: the server closes first, so the server holds TIME_WAIT.
            var client = pipe.A.CreateSocket();
            client.ReuseAddress = true;
            Assert.Equal(0, client.Bind(new Ipv4Endpoint(LossyPipe.AddressA, 40000)));
            Assert.Equal(0, client.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 80)));
            TcpSocket? server = null;
            long start = pipe.Clock.NowMicroseconds;
            Assert.True(pipe.Run(() => client.State == TcpState.Established && listener.Accept(out server) == 0), $"round {round}: {client.DebugState()}");
            Assert.True(pipe.Clock.NowMicroseconds - start < 10_000, "the SYN should reopen TIME_WAIT at once (no SYN retransmission)");
            Assert.Equal(0, server!.Close());
            Assert.True(pipe.Run(() => client.IsReadable));
            Assert.Equal(0, client.Close());
            Assert.True(pipe.Run(() => server.State == TcpState.TimeWait && client.State == TcpState.Closed));
            Assert.Equal(1, pipe.B.ConnectionCount); // the server's TIME_WAIT
        }
        Assert.Equal(0, pipe.A.ConnectionCount);
        Assert.Equal(0, pipe.A.Statistics.ResetsSent + pipe.B.Statistics.ResetsSent);
    }

    [Fact]
    public void PeerReset_FailsTheOtherSideWithEconnreset()
    {
        using var pipe = new LossyPipe(9);
        var (_, client, server) = Connect(pipe);
        var observer = new RecordingObserver();
        client.Observer = observer;
        server.Abort();
        Assert.Equal(TcpState.Closed, server.State);
        Assert.True(pipe.Run(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ECONNRESET, client.Error);
        Assert.True(observer.Events.HasFlag(TcpEvents.Error));
        Assert.True(observer.Events.HasFlag(TcpEvents.Closed));
        Assert.Equal(Errno.ECONNRESET, client.Receive(out _));
        Assert.Equal(Errno.ECONNRESET, client.Send(new byte[1], out _));
        Assert.Equal(1, pipe.A.Statistics.ResetsReceived);
    }

    [Fact]
    public void ConnectToClosedPort_IsRefused()
    {
        using var pipe = new LossyPipe(10);
        var client = pipe.A.CreateSocket();
        var observer = new RecordingObserver();
        client.Observer = observer;
        Assert.Equal(0, client.Connect(new Ipv4Endpoint(LossyPipe.AddressB, 4444)));
        Assert.True(pipe.Run(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ECONNREFUSED, client.Error);
        Assert.Equal(TcpEvents.Error, observer.Events & TcpEvents.Error);
        Assert.False(observer.Events.HasFlag(TcpEvents.Connected));
    }

    [Fact]
    public void PeerSilence_TimesOutWithEtimedout()
    {
        var config = new TcpConfig { RandomSeed = 11, MaxRetransmissions = 6 };
        using var pipe = new LossyPipe(11, config);
        int poolStart = pipe.Pool.Available;
        var (_, client, _) = Connect(pipe);
        pipe.Blackhole = true;
        Assert.Equal(0, client.Send(RandomBytes(50_000, 3), out _));
        long start = pipe.Clock.NowMicroseconds;
        Assert.True(pipe.Run(() => client.State == TcpState.Closed));
        Assert.Equal(Errno.ETIMEDOUT, client.Error);
        Assert.Equal(Errno.ETIMEDOUT, client.Receive(out _));
        // RTO ≥ 200 ms doubling 6 times before the 7th expiry: at least 200·(2^7−1) ms.
        Assert.True(pipe.Clock.NowMicroseconds - start >= 25_400_000);
        Assert.Equal(0, client.Close());
        Assert.Equal(0, pipe.A.ConnectionCount);
        Assert.True(pipe.A.Statistics.ConnectionsTimedOut == 1);
        _ = poolStart;
    }

    [Fact]
    public void HalfClose_PeerKeepsSendingAfterOurFin()
    {
        using var pipe = new LossyPipe(12);
        var (_, client, server) = Connect(pipe);
        using var c = new TcpStream(client, RandomBytes(1000, 1));
        Assert.True(pipe.Run(() => c.AllSent && server.ReadableBytes == 1000, c.Pump));
        Assert.True(pipe.Run(() => client.State == TcpState.FinWait2 && server.State == TcpState.CloseWait, c.Pump));
        // Server still sends a lot after the client's FIN.
        using var s = new TcpStream(server, RandomBytes(300_000, 2));
        Assert.True(pipe.Run(() => c.Eof && s.Eof, () => { c.Pump(); s.Pump(); }));
        Assert.Equal(300_000, c.Received);
        Assert.Equal(1000, s.Received);
    }
}
