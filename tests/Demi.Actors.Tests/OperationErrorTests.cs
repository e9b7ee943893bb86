namespace Demi.Actors.Tests;

/// <summary>Success paths and documented errors of each operation.</summary>
public sealed class OperationErrorTests : IDisposable
{
    private readonly LibOS _libOS = new();

    public void Dispose() => _libOS.Dispose();

    [Theory]
    [InlineData(SocketConstants.AF_INET6, SocketConstants.SOCK_STREAM, 0)]
    [InlineData(SocketConstants.AF_INET, SocketConstants.SOCK_RAW, 0)]
    [InlineData(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, SocketConstants.IPPROTO_UDP)]
    public void UnsupportedSocketsAreEnotsup(int domain, int type, int protocol)
        => Assert.Equal(Errno.ENOTSUP, _libOS.Socket(out _, domain, type, protocol));

    [Fact]
    public void DescriptorsStartAt500_AndTheLowestFreeIsReused()
    {
        // As in Demikernel: the first descriptor is 500, then the lowest free one (like POSIX fds).
        Assert.Equal(0, _libOS.Socket(out int first, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, _libOS.Queue(out int second));
        Assert.Equal(0, _libOS.Socket(out int third, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal([500, 501, 502], new[] { first, second, third });
        Assert.Equal(0, _libOS.Close(second));
        Assert.Equal(0, _libOS.Queue(out int reused));
        Assert.Equal(501, reused);
        Assert.Equal(0, _libOS.Queue(out int next));
        Assert.Equal(503, next);
    }

    [Fact]
    public void UnknownAndClosedDescriptorsAreEbadf()
    {
        var sga = TestUtil.Alloc(_libOS, "x");
        Assert.Equal(Errno.EBADF, _libOS.Close(4242));
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, 4242));
        Assert.Equal(Errno.EBADF, _libOS.Push(out _, 4242, sga));
        Assert.Equal(Errno.EBADF, _libOS.Accept(out _, 4242));
        Assert.Equal(Errno.EBADF, _libOS.Bind(4242, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(Errno.EBADF, _libOS.Listen(4242, 1));
        int qd = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Close(qd));
        Assert.Equal(Errno.EBADF, _libOS.Close(qd));
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, qd));
        Assert.Equal(Errno.EBADF, _libOS.Connect(out _, qd, new Ipv4Endpoint(Ipv4Address.Loopback, 1)));
    }

    [Fact]
    public void BindErrors()
    {
        int first = TestUtil.UdpSocket(_libOS);
        var taken = TestUtil.LocalOf(_libOS, first);
        Assert.Equal(0, _libOS.Socket(out int second, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(Errno.EADDRINUSE, _libOS.Bind(second, taken));
        Assert.Equal(Errno.EINVAL, _libOS.Bind(second, new byte[8]));
        Assert.Equal(Errno.EADDRNOTAVAIL, _libOS.Bind(second, new Ipv4Endpoint(Ipv4Address.Parse("192.0.2.77"), 0)));
        Assert.Equal(Errno.EINVAL, _libOS.Bind(first, new Ipv4Endpoint(Ipv4Address.Loopback, 0))); // already bound
    }

    [Fact]
    public void ListenErrors()
    {
        Assert.Equal(0, _libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(Errno.EDESTADDRREQ, _libOS.Listen(qd, 8));
        Assert.Equal(0, _libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(Errno.EINVAL, _libOS.Listen(qd, 0));
        Assert.Equal(Errno.EINVAL, _libOS.Listen(qd, SocketConstants.SOMAXCONN + 1));
        Assert.Equal(0, _libOS.Listen(qd, 8));
        Assert.Equal(Errno.EADDRINUSE, _libOS.Listen(qd, 8));
        int udp = TestUtil.UdpSocket(_libOS);
        Assert.Equal(Errno.EINVAL, _libOS.Listen(udp, 8)); // demi_listen(3): a queue that does not support listen
    }

    [Fact]
    public void ConsumedAndUnknownTokensAreEinval()
    {
        int a = TestUtil.UdpSocket(_libOS);
        var sga = TestUtil.Alloc(_libOS, "x");
        Assert.Equal(0, _libOS.PushTo(out var qt, a, sga, TestUtil.LocalOf(_libOS, a)));
        TestUtil.WaitOk(_libOS, qt);
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, qt, TimeSpan.Zero));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, 0, TimeSpan.Zero));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, 0xdead_beef_0000_0001, TimeSpan.Zero));
    }

    [Fact]
    public void WaitTimeoutsAreEtimedout()
    {
        int qd = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Pop(out var qt, qd));
        Assert.Equal(Errno.ETIMEDOUT, _libOS.Wait(out _, qt, TimeSpan.Zero));
        var started = DateTime.UtcNow;
        Assert.Equal(Errno.ETIMEDOUT, _libOS.Wait(out _, qt, TimeSpan.FromMilliseconds(50)));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(45));
        // Still pending and redeemable after timeouts.
        Assert.Equal(0, _libOS.PushTo(out var pushQt, qd, TestUtil.Alloc(_libOS, "late"), TestUtil.LocalOf(_libOS, qd)));
        Assert.Equal("late", TestUtil.Text(TestUtil.WaitOk(_libOS, qt).Sga));
        TestUtil.WaitOk(_libOS, pushQt);
    }

    [Fact]
    public void PeerNameErrors()
    {
        int udp = TestUtil.UdpSocket(_libOS);
        Assert.Equal(Errno.ENOTSUP, _libOS.GetPeerName(udp, out _));
        Assert.Equal(0, _libOS.Socket(out int tcp, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(tcp, out _));
        var (client, server, listener) = TestUtil.TcpPair(_libOS);
        Assert.Equal(0, _libOS.GetPeerName(client, out var peer));
        Assert.Equal(TestUtil.LocalOf(_libOS, listener), peer);
        Assert.Equal(0, _libOS.GetPeerName(server, out var clientAddr));
        Assert.Equal(TestUtil.LocalOf(_libOS, client), clientAddr);
    }

    [Fact]
    public void SocketOptions()
    {
        Assert.Equal(0, _libOS.Socket(out int tcp, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, _libOS.SetSockOpt(tcp, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.GetBytes(1)));
        Assert.Equal(0, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, BitConverter.GetBytes(1)));
        byte[] linger = [1, 0, 0, 0, 5, 0, 0, 0]; // struct linger { on = 1, seconds = 5 }
        Assert.Equal(0, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, linger));
        var value = new byte[8];
        Assert.Equal(0, _libOS.GetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, value, out int length));
        Assert.Equal(8, length);
        Assert.Equal(linger, value);
        Assert.Equal(0, _libOS.GetSockOpt(tcp, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, value, out length));
        Assert.Equal(1, BitConverter.ToInt32(value));
        Assert.Equal(0, _libOS.GetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, value, out _));
        Assert.Equal(1, BitConverter.ToInt32(value));
        Assert.Equal(Errno.ENOPROTOOPT, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, 999, BitConverter.GetBytes(1)));
        Assert.Equal(Errno.ENOTSUP, _libOS.SetSockOpt(tcp, 12345, SocketConstants.SO_KEEPALIVE, BitConverter.GetBytes(1)));
        Assert.Equal(Errno.ENOTSUP, _libOS.GetSockOpt(tcp, 12345, SocketConstants.SO_KEEPALIVE, value, out _));
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, new byte[2]));
        Assert.Equal(Errno.EBADF, _libOS.SetSockOpt(4242, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, BitConverter.GetBytes(1)));
    }

    [Fact]
    public void SgaAllocAndFree()
    {
        Assert.False(_libOS.SgaAlloc(0).IsAllocated);
        Assert.False(_libOS.SgaAlloc(-1).IsAllocated);
        var small = _libOS.SgaAlloc(100);
        Assert.True(small.IsAllocated);
        Assert.Equal(100, small.Length);
        Assert.True(_libOS.Buffers.TryResolve(small.Handle, out var smallAllocation));
        Assert.True(small.Segment.Buffer - smallAllocation.Start >= 128); // headroom for headers in front of the payload
        var big = _libOS.SgaAlloc(1 << 20); // above Demikernel's 64 KiB cap
        Assert.True(big.IsAllocated);
        Assert.True(_libOS.Buffers.TryResolve(big.Handle, out var bigAllocation));
        Assert.True(big.Segment.Buffer - bigAllocation.Start >= 128); // large blocks keep the headroom too
        Assert.Equal(1 << 20, big.Length);
        big.Span.Fill(7);
        Assert.Equal(0, _libOS.SgaFree(small));
        Assert.Equal(0, _libOS.SgaFree(big));
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(small));
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(big));
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(default));
    }

    [Fact]
    public void FreeingDuringInFlightPushOnlyDropsAReference()
    {
        var (client, server, _) = TestUtil.TcpPair(_libOS);
        const int Size = 4 << 20; // larger than the socket buffers, so the push stays in flight
        var sga = _libOS.SgaAlloc(Size);
        for (int i = 0; i < Size; i++)
            sga.Span[i] = (byte)(i * 31);
        var expected = sga.ToArray();
        Assert.Equal(0, _libOS.Push(out var pushQt, client, sga));
        Assert.Equal(0, _libOS.SgaFree(sga)); // the push holds its own reference
        var received = new MemoryStream();
        while (received.Length < Size)
        {
            Assert.Equal(0, _libOS.Pop(out var popQt, server));
            var pop = TestUtil.WaitOk(_libOS, popQt);
            Assert.True(pop.Sga.Length > 0);
            received.Write(pop.Sga.Span);
            _libOS.SgaFree(pop.Sga);
        }
        TestUtil.WaitOk(_libOS, pushQt);
        Assert.Equal(expected, received.ToArray());
        Assert.Equal(0, _libOS.Buffers.LargeOutstanding);
    }

    [Fact]
    public void EndOfStreamIsAZeroLengthPop()
    {
        var (client, server, _) = TestUtil.TcpPair(_libOS);
        Assert.Equal(0, _libOS.Pop(out var popQt, server));
        Assert.Equal(0, _libOS.Close(client));
        var pop = TestUtil.WaitOk(_libOS, popQt);
        Assert.Equal(Opcode.Pop, pop.Opcode);
        Assert.Equal(0, pop.Sga.Length);
        Assert.Equal(0, _libOS.SgaFree(pop.Sga));
    }

    [Fact]
    public void ConnectToClosedPortFailsWithEconnrefused()
    {
        var (listener, local) = TestUtil.TcpListener(_libOS);
        Assert.Equal(0, _libOS.Close(listener));
        Assert.Equal(0, _libOS.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, _libOS.Connect(out var qt, client, local));
        Assert.Equal(0, _libOS.Wait(out var result, qt, TestUtil.Timeout));
        Assert.Equal(Opcode.Failed, result.Opcode);
        Assert.Equal(Errno.ECONNREFUSED, result.Ret);
    }

    [Fact]
    public void BadConnectAddressIsEinval()
    {
        Assert.Equal(0, _libOS.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(Errno.EINVAL, _libOS.Connect(out _, client, new byte[3]));
    }
}
