namespace Demi.Actors.Tests;

/// <summary>
/// Issue 16 item 4: the "Errors" lines of Demikernel's man pages (man/demi_bind.md, demi_listen.md,
/// demi_accept.md, demi_connect.md), one test per line, each returned at call time. Where Demi goes
/// beyond a page: a datagram socket may connect (it fixes the default peer, as on Linux).
/// </summary>
public sealed class ManPageErrorTests : IDisposable
{
    private readonly LibOS _libOS = new();

    public void Dispose() => _libOS.Dispose();

    private int Tcp()
    {
        Assert.Equal(0, _libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        return qd;
    }

    private int MemoryQueue()
    {
        Assert.Equal(0, _libOS.Queue(out int q));
        return q;
    }

    // ---- demi_bind(3)

    [Fact]
    public void BindWithAnAddressThatIsNoSockaddrInIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Bind(Tcp(), new byte[16])); // family 0

    [Fact]
    public void BindWithABadSizeIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Bind(Tcp(), TestUtil.Bytes(new Ipv4Endpoint(Ipv4Address.Loopback, 0).ToSockAddr()).AsSpan(0, 8)));

    [Fact]
    public void BindOnAQueueThatCannotBindIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Bind(MemoryQueue(), new Ipv4Endpoint(Ipv4Address.Loopback, 0)));

    [Fact]
    public void BindOnNoQueueIsEbadf()
        => Assert.Equal(Errno.EBADF, _libOS.Bind(4242, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));

    [Fact]
    public void ASecondTcpBindToABoundAddressIsEaddrinuse()
    {
        int first = Tcp();
        Assert.Equal(0, _libOS.Bind(first, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        var taken = TestUtil.LocalOf(_libOS, first); // bound, not listening
        Assert.Equal(Errno.EADDRINUSE, _libOS.Bind(Tcp(), taken));
        Assert.Equal(Errno.EADDRINUSE, _libOS.Bind(Tcp(), new Ipv4Endpoint(Ipv4Address.Any, taken.Port)));
        Assert.Equal(0, _libOS.Close(first));
        Assert.Equal(0, _libOS.Bind(Tcp(), taken)); // free again once closed
    }

    // ---- demi_listen(3)

    [Fact]
    public void ListenWithABadBacklogIsEinval()
    {
        int qd = Tcp();
        Assert.Equal(0, _libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(Errno.EINVAL, _libOS.Listen(qd, 0));
    }

    [Fact]
    public void ListenOnAUdpSocketIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Listen(TestUtil.UdpSocket(_libOS), 8));

    [Fact]
    public void ListenOnAMemoryQueueIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Listen(MemoryQueue(), 8));

    [Fact]
    public void ListenOnNoQueueIsEbadf()
        => Assert.Equal(Errno.EBADF, _libOS.Listen(4242, 8));

    [Fact]
    public void ListenUnboundIsEdestaddrreq()
        => Assert.Equal(Errno.EDESTADDRREQ, _libOS.Listen(Tcp(), 8));

    [Fact]
    public void ListenOnAConnectedSocketIsEinval()
    {
        var (client, server, _) = TestUtil.TcpPair(_libOS);
        Assert.Equal(Errno.EINVAL, _libOS.Listen(client, 8));
        Assert.Equal(Errno.EINVAL, _libOS.Listen(server, 8));
    }

    [Fact]
    public void ListeningTwiceIsEaddrinuse()
    {
        var (listener, _) = TestUtil.TcpListener(_libOS);
        Assert.Equal(Errno.EADDRINUSE, _libOS.Listen(listener, 8));
    }

    // ---- demi_accept(3)

    [Fact]
    public void AcceptOnAUdpSocketIsEinvalAtOnce()
    {
        Assert.Equal(Errno.EINVAL, _libOS.Accept(out ulong qt, TestUtil.UdpSocket(_libOS)));
        Assert.Equal(0UL, qt);
    }

    [Fact]
    public void AcceptOnANonListeningTcpSocketIsEinvalAtOnce()
    {
        Assert.Equal(Errno.EINVAL, _libOS.Accept(out ulong qt, Tcp()));
        Assert.Equal(0UL, qt);
        var (client, _, _) = TestUtil.TcpPair(_libOS);
        Assert.Equal(Errno.EINVAL, _libOS.Accept(out _, client));
    }

    [Fact]
    public void AcceptOnAMemoryQueueIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Accept(out _, MemoryQueue()));

    [Fact]
    public void AcceptOnNoQueueIsEbadf()
        => Assert.Equal(Errno.EBADF, _libOS.Accept(out _, 4242));

    // ---- demi_connect(3)

    [Fact]
    public void ConnectOnAListeningSocketIsEinvalAtCallTime()
    {
        var (listener, local) = TestUtil.TcpListener(_libOS);
        Assert.Equal(Errno.EINVAL, _libOS.Connect(out ulong qt, listener, local));
        Assert.Equal(0UL, qt);
    }

    [Fact]
    public void ConnectOnAMemoryQueueIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Connect(out _, MemoryQueue(), new Ipv4Endpoint(Ipv4Address.Loopback, 9)));

    [Fact]
    public void ConnectWithAnAddressThatIsNoSockaddrInIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Connect(out _, Tcp(), new byte[16]));

    [Fact]
    public void ConnectWithABadSizeIsEinval()
        => Assert.Equal(Errno.EINVAL, _libOS.Connect(out _, Tcp(), TestUtil.Bytes(new Ipv4Endpoint(Ipv4Address.Loopback, 9).ToSockAddr()).AsSpan(0, 8)));

    [Fact]
    public void ConnectOnNoQueueIsEbadf()
        => Assert.Equal(Errno.EBADF, _libOS.Connect(out _, 4242, new Ipv4Endpoint(Ipv4Address.Loopback, 9)));
}
