using System.Security.Cryptography;
using Demi.Async;

namespace Demi.Actors.Tests;

/// <summary>UDP and TCP echo over 127.0.0.1 on the kernel-socket backend.</summary>
public sealed class EchoTests
{
    [Fact]
    public void UdpEchoWithTheErrnoApi()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        int server = TestUtil.UdpSocket(libOS), client = TestUtil.UdpSocket(libOS);
        var serverAddr = TestUtil.LocalOf(libOS, server);
        var echo = new Thread(() =>
        {
            for (int i = 0; i < 1000; i++)
            {
                Assert.Equal(0, libOS.Pop(out var qt, server));
                var request = TestUtil.WaitOk(libOS, qt);
                Assert.Equal(0, libOS.PushTo(out var pqt, server, request.Sga, request.Sga.Address.Endpoint));
                TestUtil.WaitOk(libOS, pqt);
                libOS.SgaFree(request.Sga);
            }
        });
        echo.Start();
        for (int i = 0; i < 1000; i++)
        {
            var sga = TestUtil.Alloc(libOS, $"message {i}");
            Assert.Equal(0, libOS.Pop(out var popQt, client));
            Assert.Equal(0, libOS.PushTo(out var qt, client, sga, serverAddr));
            TestUtil.WaitOk(libOS, qt);
            var reply = TestUtil.WaitOk(libOS, popQt);
            Assert.Equal($"message {i}", TestUtil.Text(reply.Sga));
            Assert.Equal(serverAddr, reply.Sga.Address.Endpoint);
            libOS.SgaFree(reply.Sga);
            libOS.SgaFree(sga);
        }
        Assert.True(echo.Join(TestUtil.Timeout));
    }

    [Fact]
    public async Task TcpEchoWithTypedAsyncSockets()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        using var listener = DemiTcpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0)).Listen();
        var serverTask = Task.Run(async () =>
        {
            using var connection = await listener.AcceptAsync();
            while (true)
            {
                var data = await connection.PopAsync();
                if (data.Length == 0)
                {
                    connection.Free(data);
                    return;
                }
                await connection.PushAsync(data);
                connection.Free(data);
            }
        });
        using var client = DemiTcpSocket.Create(libOS);
        await client.ConnectAsync(listener.LocalEndPoint);
        client.NoDelay = true;
        var payload = RandomNumberGenerator.GetBytes(1 << 20);
        var sendTask = Task.Run(async () =>
        {
            for (int offset = 0; offset < payload.Length; offset += 1000)
            {
                var sga = client.Allocate(payload.AsSpan(offset, Math.Min(1000, payload.Length - offset)));
                await client.PushAsync(sga);
                client.Free(sga);
            }
        });
        var received = new MemoryStream();
        while (received.Length < payload.Length)
        {
            var data = await client.PopAsync();
            Assert.True(data.Length > 0);
            received.Write(data.Span);
            client.Free(data);
        }
        await sendTask;
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(received.ToArray()));
        client.Dispose();
        await serverTask.WaitAsync(TestUtil.Timeout);
    }

    [Fact]
    public async Task AsyncFailuresThrowDemiExceptionWithTheErrno()
    {
        using var libOS = new LibOS();
        using var socket = DemiTcpSocket.Create(libOS);
        var ex = await Assert.ThrowsAsync<DemiException>(async () => await socket.PopAsync());
        Assert.Equal(Errno.ENOTCONN, ex.ErrorCode);
        var closed = DemiUdpSocket.Create(libOS);
        closed.Dispose();
        ex = await Assert.ThrowsAsync<DemiException>(async () => await closed.PopAsync());
        Assert.Equal(Errno.EBADF, ex.ErrorCode);
    }

    [Fact]
    public async Task UdpTypedSocketsRoundTrip()
    {
        using var libOS = new LibOS();
        using var a = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        using var b = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        var receive = b.ReceiveFromAsync();
        var sga = a.Allocate("hi"u8);
        await a.SendToAsync(sga, b.LocalEndPoint);
        var (data, from) = await receive;
        Assert.Equal("hi"u8.ToArray(), data.ToArray());
        Assert.Equal(a.LocalEndPoint, from);
        b.Free(data);
        a.Free(sga);
    }
}

public sealed class UdpBatchTests
{
    [Fact]
    public void ABurstOfPushesIsDeliveredInOrder()
    {
        using var libOS = new LibOS();
        int a = TestUtil.UdpSocket(libOS), b = TestUtil.UdpSocket(libOS);
        var dest = TestUtil.LocalOf(libOS, b);
        var pushes = new List<ulong>();
        var pops = new List<ulong>();
        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(0, libOS.Pop(out var pop, b));
            pops.Add(pop);
        }
        var sgas = new List<Sga>();
        for (int i = 0; i < 100; i++)
        {
            var sga = TestUtil.Alloc(libOS, $"datagram {i}");
            sgas.Add(sga);
            Assert.Equal(0, libOS.PushTo(out var qt, a, sga, dest));
            pushes.Add(qt);
        }
        foreach (var qt in pushes)
            Assert.Equal(Opcode.Push, TestUtil.WaitOk(libOS, qt).Opcode);
        for (int i = 0; i < 100; i++)
        {
            var pop = TestUtil.WaitOk(libOS, pops[i]);
            Assert.Equal($"datagram {i}", TestUtil.Text(pop.Sga));
            libOS.SgaFree(pop.Sga);
        }
        foreach (var sga in sgas)
            libOS.SgaFree(sga);
        Assert.Equal(libOS.Buffers.Pool.Count, libOS.Buffers.Pool.Available);
    }
}
