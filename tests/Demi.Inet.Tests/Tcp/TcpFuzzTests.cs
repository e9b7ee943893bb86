using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>Random and hostile segments never crash the layer or leak buffers.</summary>
public sealed class TcpFuzzTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomSegments_AreSurvived_AndLeakNothing(int seed)
    {
        var random = new Random(seed);
        using var h = new TcpHarness(new TcpConfig { RandomSeed = seed, MslMicroseconds = 1_000_000 });
        var listeners = new List<TcpSocket>();
        var connections = new List<TcpSocket>();
        for (int round = 0; round < 10; round++)
        {
            // A fresh connection per round, so the noise hits every state it can reach.
            ushort localPort = (ushort)(1000 + round);
            h.PeerPort = (ushort)(30000 + round);
            h.PeerSeq = (uint)random.NextInt64(0, 1L << 32);
            var (listener, conn, ourSeq) = h.EstablishPassive(localPort, timestamps: random.Next(2) == 0);
            listeners.Add(listener);
            connections.Add(conn);
            Assert.Equal(0, conn.Send(new byte[5000], out _));
            if (random.Next(3) == 0)
                conn.Shutdown(TcpShutdown.Write);
            uint peerSeq = h.PeerSeq;
            for (int i = 0; i < 2_000; i++)
            {
                byte flags = (byte)random.Next(256);
                uint seq = random.Next(4) switch
                {
                    0 => peerSeq,
                    1 => peerSeq + (uint)random.Next(-70000, 70000),
                    _ => (uint)random.NextInt64(0, 1L << 32),
                };
                uint ack = random.Next(3) switch
                {
                    0 => ourSeq + (uint)random.Next(0, 6000),
                    1 => ourSeq + (uint)random.Next(-70000, 70000),
                    _ => (uint)random.NextInt64(0, 1L << 32),
                };
                var options = new byte[random.Next(11) * 4];
                random.NextBytes(options);
                if (random.Next(3) == 0 && options.Length >= 12)
                    SegmentCrafter.TimestampOption((uint)random.Next(), (uint)random.Next()).CopyTo(options, 0);
                var payload = new byte[random.Next(4) == 0 ? random.Next(0, 1400) : 0];
                random.NextBytes(payload);
                ushort port = random.Next(4) == 0 ? (ushort)random.Next(1, 65536) : localPort;
                ushort from = random.Next(3) == 0 ? (ushort)random.Next(1, 65536) : h.PeerPort;
                var buffer = SegmentCrafter.Build(h.Pool, TcpHarness.Peer, TcpHarness.Local, from, port, seq, ack, flags,
                    (ushort)random.Next(65536), options, payload, corruptChecksum: random.Next(20) == 0);
                if (random.Next(30) == 0)
                    buffer.Truncate(random.Next(buffer.Length + 1));
                h.Tcp.Receive(TcpHarness.Peer, TcpHarness.Local, buffer, checksumVerified: random.Next(2) == 0);
                if (i % 200 == 0)
                    h.Advance(random.Next(1, 300_000));
                if (random.Next(50) == 0)
                    while (conn.Receive(out var data) == 0 && data.Length > 0)
                        data.Release();
                h.Ip.Take();
            }
        }
        foreach (var socket in connections.Concat(listeners))
            socket.Close();
        // Whatever the noise created (half-open children, TIME_WAIT) expires; every frame comes back.
        h.Advance(3L * 3600 * 1_000_000); // beyond 15 backed-off retransmissions (up to 120 s each)
        h.Ip.Take();
        Assert.True(h.Tcp.ConnectionCount == 0, string.Join("; ", h.Tcp.Connections.Select(c => c.DebugState())));
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }
}
