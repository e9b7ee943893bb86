using Demi.Inet.Tcp;
using Demi.Inet.Tcp.Internal;

namespace Demi.Inet.Tests.Tcp;

/// <summary>
/// A peer that advertises a zero window and then answers nothing must not hold a connection and its
/// send buffer for ever (found by fuzzing: fuzz/regressions/tcp-state/zero-window-then-silence-*).
/// </summary>
public sealed class PersistTimeoutTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ZeroWindowPeerThatGoesSilent_IsGivenUp(bool closedByApplication)
    {
        using var h = new TcpHarness();
        var (socket, _, _) = h.EstablishActive(timestamps: false, peerWindow: 0);
        Assert.Equal(0, socket.Send(new byte[500], out _));
        if (closedByApplication)
            Assert.Equal(0, socket.Close());
        // Probes back off up to the 120 s RTO cap: 15 of them take well under an hour.
        h.Advance(3_600_000_000);
        h.Ip.Take();
        int limit = closedByApplication ? h.Tcp.Config.OrphanRetries : h.Tcp.Config.MaxRetransmissions;
        Assert.Equal(limit, h.Tcp.Statistics.ZeroWindowProbes);
        Assert.Equal(1, h.Tcp.Statistics.PersistTimeouts);
        Assert.Equal(0, h.Tcp.ConnectionCount);
        if (!closedByApplication)
        {
            Assert.Equal(TcpState.Closed, socket.State);
            Assert.Equal(Errno.ETIMEDOUT, socket.Error);
            socket.Close();
        }
        Assert.Equal(h.PoolStart, h.Pool.Available);
    }

    /// <summary>
    /// The persist timer runs; a window update opens a window smaller than a segment (which clears the
    /// persist flag but not the timer). When that timer fires with nothing in flight, the data must
    /// still go (SWS override) instead of waiting for ever with no timer armed.
    /// </summary>
    [Fact]
    public void SmallWindowUpdateDuringPersist_DoesNotStrandTheData()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false, peerWindow: 65535);
        Assert.Equal(0, socket.Send(new byte[100], out _));
        Assert.Single(h.Ip.Take());
        ourSeq += 100;
        h.Inject(port, h.PeerSeq, ourSeq, TcpFlags.Ack, 0); // all acknowledged, window closed
        Assert.Equal(0, socket.Send(new byte[500], out _));
        Assert.Empty(h.Ip.Take()); // the persist timer runs
        h.Inject(port, h.PeerSeq, ourSeq, TcpFlags.Ack, 16); // window update: 16 bytes, too small to send into (SWS)
        Assert.DoesNotContain(h.Ip.Take(), s => s.Payload.Length > 0);
        h.Advance(10_000_000);
        var sent = h.Ip.Take().Where(s => s.Payload.Length > 0).ToList();
        Assert.NotEmpty(sent);
        Assert.Equal(ourSeq, sent[0].Seq);
        Assert.Equal(16, sent[0].Payload.Length);
        socket.Abort();
        socket.Close();
    }

    [Fact]
    public void ZeroWindowPeerThatAnswersProbes_IsKept()
    {
        using var h = new TcpHarness();
        var (socket, ourSeq, port) = h.EstablishActive(timestamps: false, peerWindow: 0);
        Assert.Equal(0, socket.Send(new byte[500], out _));
        for (int i = 0; i < 40; i++)
        {
            h.Advance(130_000_000); // past the longest backed-off probe interval
            if (h.Ip.Take().Count > 0)
                h.Inject(port, h.PeerSeq, ourSeq, TcpFlags.Ack, 0); // still zero, but alive
        }
        Assert.True(h.Tcp.Statistics.ZeroWindowProbes > h.Tcp.Config.MaxRetransmissions);
        Assert.Equal(0, h.Tcp.Statistics.PersistTimeouts);
        Assert.Equal(TcpState.Established, socket.State);
        socket.Abort();
        socket.Close();
    }
}
