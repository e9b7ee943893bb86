using Demi.Buffers;
using Demi.Inet.Tcp;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>The TCP layer registered on two <see cref="InetStack"/>s over the virtual wire: the IIpLayer contract end to end.</summary>
public sealed class TcpOverStackTests
{
    [Theory]
    [InlineData(0.0, 1)]
    [InlineData(0.01, 2)]
    public void BulkTransferBothWaysThroughArpAndIpv4(double loss, int seed)
    {
        using var net = new TwoStacks(new VirtualWireOptions { Seed = seed, LossRate = loss, ReorderRate = loss, DelayMicroseconds = 50 });
        var tcpA = new TcpLayer(net.A);
        var tcpB = new TcpLayer(net.B);
        net.A.RegisterProtocol(tcpA);
        net.B.RegisterProtocol(tcpB);
        Assert.Throws<InvalidOperationException>(() => net.A.RegisterProtocol(new TcpLayer(net.A)));

        var listener = tcpB.CreateSocket();
        Assert.Equal(0, listener.Bind(new Ipv4Endpoint(Ipv4Address.Any, 80)));
        Assert.Equal(0, listener.Listen(8));
        var client = tcpA.CreateSocket();
        Assert.Equal(0, client.Connect(new Ipv4Endpoint(TwoStacks.AddressB, 80)));

        TcpSocket? server = null;
        var step = TimeSpan.FromMilliseconds(1);
        for (int i = 0; i < 20_000 && (server is null || client.State != TcpState.Established); i++)
        {
            net.Clock.Advance(step);
            net.Pump();
            if (server is null && listener.Accept(out var accepted) == 0)
                server = accepted;
        }
        Assert.NotNull(server);
        Assert.Equal(TcpState.Established, client.State);

        const int total = 200_000;
        var data = new byte[total];
        new Random(seed).NextBytes(data);
        var toServer = new MemoryStream();
        var toClient = new MemoryStream();
        int sentA = 0, sentB = 0;
        for (int i = 0; i < 200_000 && (toServer.Length < total || toClient.Length < total); i++)
        {
            if (sentA < total && client.Send(data.AsSpan(sentA), out int a) == 0)
                sentA += a;
            if (sentB < total && server!.Send(data.AsSpan(sentB), out int b) == 0)
                sentB += b;
            net.Clock.Advance(step);
            net.Pump();
            Drain(server!, toServer);
            Drain(client, toClient);
        }
        Assert.Equal(data, toServer.ToArray());
        Assert.Equal(data, toClient.ToArray());
        Assert.Equal(0, net.A.Counters[DropReason.Ipv4NoProtocolHandler] + net.B.Counters[DropReason.Ipv4NoProtocolHandler]);
        Assert.Equal(0, net.A.Counters[DropReason.InternalError] + net.B.Counters[DropReason.InternalError]);
        if (loss > 0)
            Assert.True(net.Wire.Lost > 0);
    }

    private static void Drain(TcpSocket socket, MemoryStream into)
    {
        while (socket.Receive(out PacketBuffer data) == 0 && data.Length > 0)
        {
            into.Write(data.Span);
            data.Release();
        }
    }
}
