using Demi.Inet.Tcp;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// Issue 16 item 8: a SYN flood from sources that never complete the handshake fills the half-open
/// slots; new SYNs then push out the oldest half-open connection, so that a legitimate client still
/// connects (during the flood and right after it) and memory stays bounded by the backlog.
/// </summary>
public sealed class SynFloodTests
{
    [Fact]
    public void FloodOfHalfOpenConnections_DoesNotLockOutALegitimateClient()
    {
        using var h = new TcpHarness();
        var listener = h.Tcp.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(8));
        var random = new Random(16);
        for (int i = 0; i < 1000; i++)
            h.Inject(80, (uint)random.Next(), 0, SegmentCrafter.Syn, fromPort: (ushort)random.Next(1024, 65536));
        h.Ip.Take();
        Assert.True(h.Tcp.ConnectionCount <= 8, $"{h.Tcp.ConnectionCount} half-open connections for a backlog of 8");
        Assert.True(h.Tcp.Statistics.HalfOpenDropped >= 992);

        // The legitimate client's SYN is answered, and its ACK completes the handshake.
        h.Inject(80, 7000, 0, SegmentCrafter.Syn, fromPort: 555);
        var synAck = Assert.Single(h.Ip.Take(), s => s.Syn && s.Ack && s.Destination == TcpHarness.Peer);
        h.Inject(80, 7001, synAck.Seq + 1, SegmentCrafter.Ack, fromPort: 555);
        Assert.Equal(0, listener.Accept(out var connection));
        Assert.Equal(TcpState.Established, connection!.State);
        Assert.Equal(555, connection.RemoteEndpoint.Port);
        connection.Abort();
        connection.Close();
        listener.Close();
        h.Advance(600_000_000);
        h.Ip.Take();
        Assert.Equal(0, h.Tcp.ConnectionCount);
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }
}
