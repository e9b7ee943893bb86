using System.Net;
using System.Net.Sockets;
using Demi.Async;

namespace Demi.Actors.Tests;

/// <summary>The async face: cancellation that loses nothing, errors that say where, single-await ValueTasks.</summary>
public sealed class AsyncApiTests
{
    private static readonly Ipv4Endpoint AnyLoopback = new(Ipv4Address.Loopback, 0);

    [Fact]
    public async Task CancelledPop_ItsDatagramGoesToTheNextPop()
    {
        using var libOS = new LibOS();
        using var server = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        using var client = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        int tokensBefore = libOS.TokensInUse;

        using (var cts = new CancellationTokenSource())
        {
            var pending = server.PopAsync(cts.Token);
            Assert.False(pending.IsCompleted);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        }

        var first = client.Allocate("first"u8);
        var second = client.Allocate("second"u8);
        await client.SendToAsync(first, server.LocalEndPoint);
        await client.SendToAsync(second, server.LocalEndPoint);
        client.Free(first);
        client.Free(second);

        using var timeout = new CancellationTokenSource(TestUtil.Timeout);
        var a = await server.PopAsync(timeout.Token);
        var b = await server.PopAsync(timeout.Token);
        Assert.Equal("first", TestUtil.Text(a));   // the cancelled pop's datagram, not lost
        Assert.Equal("second", TestUtil.Text(b));  // order kept
        server.Free(a);
        server.Free(b);
        Assert.Equal(tokensBefore, libOS.TokensInUse);
    }

    [Fact]
    public async Task CancelledPop_DisposeFreesWhatItYielded()
    {
        using var libOS = new LibOS();
        var server = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        using var client = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        using (var cts = new CancellationTokenSource())
        {
            var pending = server.PopAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        }
        var data = client.Allocate("orphan"u8);
        await client.SendToAsync(data, server.LocalEndPoint);
        client.Free(data);
        // Give the orphaned pop time to take the datagram, then dispose without popping again.
        Assert.True(SpinWait.SpinUntil(() => libOS.Buffers.Pool.Available < libOS.Buffers.Pool.Count, TestUtil.Timeout));
        Assert.True(SpinWait.SpinUntil(() => libOS.TokensInUse == 0, TestUtil.Timeout), "the orphaned pop never completed");
        server.Dispose();
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
        Assert.Equal(1, libOS.OpenDescriptors);
    }

    [Fact]
    public async Task CancelledAccept_TheConnectionGoesToTheNextAccept_OrIsClosedOnDispose()
    {
        using var libOS = new LibOS();
        var listener = DemiTcpSocket.Create(libOS).Bind(AnyLoopback).Listen();
        using (var cts = new CancellationTokenSource())
        {
            var pending = listener.AcceptAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        }
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint.ToIPEndPoint());
        using var timeout = new CancellationTokenSource(TestUtil.Timeout);
        using (var accepted = await listener.AcceptAsync(timeout.Token))
            Assert.Equal(((IPEndPoint)peer.LocalEndPoint!).Port, accepted.RemoteEndPoint.Port);

        // A second cancelled accept whose connection nobody asks for: dispose closes it.
        using (var cts = new CancellationTokenSource())
        {
            var pending = listener.AcceptAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await pending);
        }
        using var peer2 = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer2.ConnectAsync(listener.LocalEndPoint.ToIPEndPoint());
        Assert.True(SpinWait.SpinUntil(() => libOS.OpenDescriptors == 2, TestUtil.Timeout), "the orphaned accept never completed");
        listener.Dispose();
        Assert.Equal(0, libOS.OpenDescriptors);
        Assert.Equal(0, libOS.TokensInUse);
        // The peer sees the close: end of stream or a reset.
        peer2.ReceiveTimeout = (int)TestUtil.Timeout.TotalMilliseconds;
        try
        {
            Assert.Equal(0, peer2.Receive(new byte[1]));
        }
        catch (SocketException e)
        {
            Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
        }
    }

    [Fact]
    public async Task CancelledConnect_ClosesTheSocketAndFreesItsToken()
    {
        using var libOS = new LibOS();
        // A kernel listener whose accept queue is full: Linux drops further SYNs, so a connect stays pending.
        using var full = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        full.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        full.Listen(0);
        var target = Ipv4Endpoint.From((IPEndPoint)full.LocalEndPoint!);
        {
            DemiTcpSocket? stuck = null;
            ValueTask connect = default;
            using var cts = new CancellationTokenSource();
            for (int i = 0; i < 8 && stuck is null; i++)
            {
                var socket = DemiTcpSocket.Create(libOS);
                var attempt = socket.ConnectAsync(target, cts.Token);
                await Task.Delay(200);
                if (attempt.IsCompleted)
                {
                    await attempt; // connected into the backlog: stays open (closed with the libOS) to fill the queue
                    continue;
                }
                stuck = socket;
                connect = attempt;
            }
            Assert.NotNull(stuck);
            int open = libOS.OpenDescriptors;
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await connect);
            Assert.Equal(open - 1, libOS.OpenDescriptors); // the cancelled socket is closed
            Assert.True(SpinWait.SpinUntil(() => libOS.TokensInUse == 0, TestUtil.Timeout));
        }
    }

    [Fact]
    public async Task PrecancelledOperations_TakeNothing()
    {
        using var libOS = new LibOS();
        using var udp = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        var sga = udp.Allocate("x"u8);
        var cancelled = new CancellationToken(canceled: true);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await udp.PushAsync(sga, cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await udp.PopAsync(cancelled));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await udp.SendToAsync(sga, udp.LocalEndPoint, cancelled));
        Assert.Equal(0, libOS.TokensInUse);
        udp.Free(sga);
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
    }

    [Fact]
    public async Task AwaitingAValueTaskTwice_IsAnError()
    {
        using var libOS = new LibOS();
        using var udp = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        var sga = udp.Allocate("twice"u8);
        var push = libOS.PushToAsync(udp.Qd, sga, udp.LocalEndPoint);
        Assert.Equal(Opcode.Push, (await push).Opcode);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await push);
        Assert.Equal(0, libOS.TokensInUse); // the slot was released once, not twice

        // The typed socket's pooled ValueTasks behave the same once they completed asynchronously.
        var pop = udp.PopAsync();
        bool completedSynchronously = pop.IsCompleted; // then it wraps the result itself, as .NET's do
        var popped = await pop;
        udp.Free(popped);
        udp.Free(sga);
        if (!completedSynchronously)
            await Assert.ThrowsAsync<InvalidOperationException>(async () => await pop);
    }

    [Fact]
    public async Task DemiException_NamesTheOperationAndTheEndpoint()
    {
        using var libOS = new LibOS();
        // A port nobody listens on: the connect is refused.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closed = Ipv4Endpoint.From((IPEndPoint)probe.LocalEndPoint!);
        probe.Dispose();

        using var socket = DemiTcpSocket.Create(libOS);
        var e = await Assert.ThrowsAsync<DemiException>(async () => await socket.ConnectAsync(closed));
        Assert.Equal(Errno.ECONNREFUSED, e.ErrorCode);
        Assert.Equal("ConnectAsync", e.Operation);
        Assert.Equal(socket.Qd, e.Qd);
        Assert.Contains($"-> {closed}", e.Message);
        Assert.Contains("ECONNREFUSED", e.Message);

        using var udp = DemiUdpSocket.Create(libOS).Bind(AnyLoopback);
        var bad = new Sga(); // not an allocation: EINVAL, named
        var e2 = await Assert.ThrowsAsync<DemiException>(async () => await udp.SendToAsync(bad, udp.LocalEndPoint));
        Assert.Equal(Errno.EINVAL, e2.ErrorCode);
        Assert.Contains("SendToAsync", e2.Message);
        Assert.Contains($"udp {udp.LocalEndPoint}", e2.Message);
    }
}
