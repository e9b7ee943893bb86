using System.Reactive.Linq;
using Demi.Async;

namespace Demi.Actors.Tests;

/// <summary>The README's examples, run as written (with a peer added) so the docs stay true.</summary>
public sealed class ReadmeExamplesTests
{
    [Fact]
    public void ErrnoShape()
    {
        using var libOS = new LibOS(new LibOSOptions { Cores = Demi.Runtime.CpuSet.AllowedCores().Last().ToString() });
        libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0);
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        var peer = TestUtil.UdpSocket(libOS);

        var sga = libOS.SgaAlloc(64);
        "hello"u8.CopyTo(sga.Span);
        int err = libOS.PushTo(out ulong qt, qd, sga, TestUtil.LocalOf(libOS, peer));
        Assert.Equal(0, err);
        Assert.Equal(0, libOS.Wait(out QResult pushed, qt, TimeSpan.FromSeconds(1)));
        Assert.Equal(Opcode.Push, pushed.Opcode);
        Assert.Equal(0, libOS.SgaFree(sga));

        libOS.Pop(out ulong popQt, peer);
        libOS.Wait(out QResult popped, popQt);
        Assert.Equal(Opcode.Pop, popped.Opcode);
        Assert.Equal(64, popped.Sga.Length);
        Assert.Equal(TestUtil.LocalOf(libOS, qd), popped.Sga.Address.Endpoint);
        libOS.SgaFree(popped.Sga);
    }

    [Fact]
    public async Task AsyncShape()
    {
        using var libOS = new LibOS();
        using var listener = DemiTcpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Any, 0)).Listen();
        using var client = DemiTcpSocket.Create(libOS);
        var accept = listener.AcceptAsync();
        await client.ConnectAsync(new Ipv4Endpoint(Ipv4Address.Loopback, listener.LocalEndPoint.Port));
        using var connection = await accept;
        var hello = client.Allocate("hello"u8);
        await client.PushAsync(hello);
        Sga data = await connection.PopAsync();
        await connection.PushAsync(data);
        connection.Free(data);
        var echoed = await client.PopAsync();
        Assert.Equal("hello"u8.ToArray(), echoed.ToArray());
        client.Free(echoed);
        client.Free(hello);
    }

    [Fact]
    public void RxShape()
    {
        using var libOS = new LibOS();
        int qd = TestUtil.UdpSocket(libOS), client = TestUtil.UdpSocket(libOS);
        using var echo = libOS.CompletionsOf(qd).Subscribe(r =>
        {
            if (r.Opcode == Opcode.Pop)
            {
                libOS.PostPushTo(qd, r.Sga, r.Sga.Address.Endpoint);   // echo the datagram, no copy
                libOS.PostPop(qd);
            }
            else if (r.Opcode == Opcode.Push || r.Sga.IsAllocated)
            {
                libOS.SgaFree(r.Sga);                                   // the echoed (or failed) buffer
            }
        });
        libOS.PostPop(qd);
        for (int i = 0; i < 10; i++)
        {
            var sga = TestUtil.Alloc(libOS, $"rx {i}");
            Assert.Equal(0, libOS.Pop(out var popQt, client));
            Assert.Equal(0, libOS.PushTo(out var pushQt, client, sga, TestUtil.LocalOf(libOS, qd)));
            TestUtil.WaitOk(libOS, pushQt);
            var reply = TestUtil.WaitOk(libOS, popQt);
            Assert.Equal($"rx {i}", TestUtil.Text(reply.Sga));
            libOS.SgaFree(reply.Sga);
            libOS.SgaFree(sga);
        }
        // As written, the example gives every buffer back.
        Assert.True(SpinWait.SpinUntil(() => libOS.Buffers.Pool.Available == libOS.Buffers.Pool.Count, TestUtil.Timeout));
    }
}
