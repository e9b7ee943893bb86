namespace Demi.Actors.Tests;

/// <summary>
/// Issue 16 item 4: the "Errors" lines of Demikernel's man pages (man/demi_socket.md, demi_bind.md,
/// demi_listen.md, demi_accept.md, demi_connect.md, demi_close.md, demi_push.md, demi_pushto.md (its
/// own class, <see cref="PushToErrorTests"/>), demi_pop.md, demi_wait.md (wait and wait_any),
/// demi_sgaalloc.md, demi_sgafree.md, demi_setsockopt.md, demi_getsockopt.md, demi_getpeername.md),
/// one test per line, each returned at call time. Where Demi goes beyond a page: a datagram socket
/// may connect (it fixes the default peer, as on Linux). Where a page is ambiguous (demi_close's
/// EINVAL and EBADF name the same condition) Demi answers as Linux close(2): EBADF.
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

    private static readonly Ipv4Endpoint Nowhere = new(Ipv4Address.Loopback, 9);

    // ---- demi_socket(3)

    [Theory]
    [InlineData(SocketConstants.AF_INET6)]
    [InlineData(1)] // AF_UNIX
    [InlineData(0)] // AF_UNSPEC
    public void SocketOfAnUnsupportedDomainIsEnotsup(int domain)
    {
        Assert.Equal(Errno.ENOTSUP, _libOS.Socket(out int qd, domain, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(-1, qd);
        Assert.Equal(0, _libOS.OpenDescriptors);
    }

    [Theory]
    [InlineData(SocketConstants.SOCK_RAW)]
    [InlineData(5)] // SOCK_SEQPACKET
    [InlineData(0)]
    public void SocketOfAnUnsupportedTypeIsEnotsup(int type)
    {
        Assert.Equal(Errno.ENOTSUP, _libOS.Socket(out int qd, SocketConstants.AF_INET, type, 0));
        Assert.Equal(-1, qd);
        Assert.Equal(0, _libOS.OpenDescriptors);
    }

    // ---- demi_push(3)

    // Every shape of sga that is no valid scatter-gather array, for the push tests.
    private IEnumerable<Sga> InvalidSgas()
    {
        var live = TestUtil.Alloc(_libOS, "valid");
        yield return default;
        var noSegments = live;
        noSegments.NumSegments = 0;
        yield return noSegments;
        var twoSegments = live;
        twoSegments.NumSegments = 2;
        yield return twoSegments;
        var unknown = live;
        unknown.Handle = 12345;
        yield return unknown;
        Assert.True(_libOS.Buffers.TryResolve(live.Handle, out var allocation));
        var before = live;
        before.Segment.Buffer = allocation.Start - 1;
        yield return before;
        var beyond = live;
        beyond.Segment.Length = (uint)_libOS.Buffers.Pool.BufferSize;
        yield return beyond;
        var freed = TestUtil.Alloc(_libOS, "freed");
        Assert.Equal(0, _libOS.SgaFree(freed));
        yield return freed;
    }

    [Fact]
    public void PushOfAnInvalidSgaIsEinvalAtOnce()
    {
        var (client, _, _) = TestUtil.TcpPair(_libOS);
        int memory = MemoryQueue();
        int tokens = _libOS.TokensInUse;
        foreach (var bad in InvalidSgas())
        {
            Assert.Equal(Errno.EINVAL, _libOS.Push(out ulong qt, client, bad));
            Assert.Equal(0UL, qt);
            Assert.Equal(Errno.EINVAL, _libOS.Push(out _, memory, bad));
        }
        Assert.Equal(tokens, _libOS.TokensInUse); // nothing was queued
    }

    [Fact]
    public void PushOfAZeroLengthSegmentIsEinval()
    {
        var (client, _, _) = TestUtil.TcpPair(_libOS);
        var empty = TestUtil.Alloc(_libOS, "x");
        empty.Segment.Length = 0;
        Assert.Equal(Errno.EINVAL, _libOS.Push(out ulong qt, client, empty));
        Assert.Equal(0UL, qt);
        Assert.Equal(Errno.EINVAL, _libOS.Push(out _, MemoryQueue(), empty));
    }

    [Fact]
    public void PushOnNoQueueIsEbadf()
    {
        var sga = TestUtil.Alloc(_libOS, "x");
        Assert.Equal(Errno.EBADF, _libOS.Push(out _, 4242, sga));
        Assert.Equal(Errno.EBADF, _libOS.Push(out _, -1, sga));
        var (client, _, _) = TestUtil.TcpPair(_libOS);
        Assert.Equal(0, _libOS.Close(client));
        Assert.Equal(Errno.EBADF, _libOS.Push(out ulong qt, client, sga));
        Assert.Equal(0UL, qt);
        // A bad sga on no queue: the descriptor is checked first.
        Assert.Equal(Errno.EBADF, _libOS.Push(out _, 4242, default));
    }

    [Fact]
    public void PushWithNoOperationLeftIsEagain()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 1 });
        Assert.Equal(0, libOS.Queue(out int qd));
        Assert.Equal(0, libOS.Pop(out _, qd)); // holds the only token: an empty queue never completes it
        var sga = TestUtil.Alloc(libOS, "x");
        Assert.Equal(Errno.EAGAIN, libOS.Push(out ulong qt, qd, sga));
        Assert.Equal(0UL, qt);
        Assert.Equal(1, libOS.Buffers.Pool.RefCount(libOS.Buffers.Pool.IndexOf(sga.Handle))); // the refused push kept no reference
    }

    // ---- demi_pop(3)

    [Fact]
    public void PopOnNoQueueIsEbadf()
    {
        Assert.Equal(Errno.EBADF, _libOS.Pop(out ulong qt, 4242));
        Assert.Equal(0UL, qt);
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, -1));
        int qd = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Close(qd));
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, qd));
    }

    [Fact]
    public void PopWithNoOperationLeftIsEagain()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 2 });
        int qd = TestUtil.UdpSocket(libOS);
        Assert.Equal(0, libOS.Pop(out _, qd));
        Assert.Equal(0, libOS.Pop(out _, qd));
        Assert.Equal(Errno.EAGAIN, libOS.Pop(out ulong qt, qd));
        Assert.Equal(0UL, qt);
        Assert.Equal(2, libOS.TokensInUse);
    }

    // ---- demi_close(3)

    [Fact]
    public void CloseOfNoOpenDescriptorIsEbadfAsCloseTwoSays()
    {
        // The page names this condition under both EINVAL and EBADF; Demi answers as Linux close(2).
        Assert.Equal(Errno.EBADF, _libOS.Close(4242));
        Assert.Equal(Errno.EBADF, _libOS.Close(-1));
        Assert.Equal(Errno.EBADF, _libOS.Close(0)); // stdin: a file descriptor, no queue descriptor
        Assert.Equal(Errno.EBADF, _libOS.Close(int.MaxValue));
        int udp = TestUtil.UdpSocket(_libOS);
        int memory = MemoryQueue();
        var (client, server, listener) = TestUtil.TcpPair(_libOS);
        foreach (int qd in new[] { udp, memory, client, server, listener })
        {
            Assert.Equal(0, _libOS.Close(qd)); // every kind of open queue closes
            Assert.Equal(Errno.EBADF, _libOS.Close(qd)); // and only once
        }
        Assert.Equal(0, _libOS.OpenDescriptors);
    }

    // ---- demi_wait(3): demi_wait and demi_wait_any

    [Fact]
    public void WaitOnAnInvalidTokenIsEinval()
    {
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, 0, TimeSpan.Zero));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, 0xdead_beef_0000_0001, TimeSpan.Zero));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, ulong.MaxValue)); // no timeout: still at once
        int qd = MemoryQueue();
        Assert.Equal(0, _libOS.Push(out ulong qt, qd, TestUtil.Alloc(_libOS, "x")));
        TestUtil.WaitOk(_libOS, qt);
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, qt)); // consumed
    }

    [Fact]
    public void WaitAnyWithAnInvalidNumberOfTokensIsEinval()
    {
        Assert.Equal(Errno.EINVAL, _libOS.WaitAny(out _, out int offset, ReadOnlySpan<ulong>.Empty, TimeSpan.Zero));
        Assert.Equal(-1, offset);
    }

    [Fact]
    public void WaitAnyWithAnInvalidTokenInTheListIsEinvalAndConsumesNothing()
    {
        int qd = MemoryQueue();
        using var popCompleted = new ManualResetEventSlim();
        using var subscription = _libOS.CompletionsOf(qd).Subscribe(r =>
        {
            if (r.Opcode == Opcode.Pop)
                popCompleted.Set();
        });
        Assert.Equal(0, _libOS.Push(out ulong pushed, qd, TestUtil.Alloc(_libOS, "x")));
        TestUtil.WaitOk(_libOS, pushed);
        Assert.Equal(0, _libOS.Pop(out ulong popped, qd));
        Assert.True(popCompleted.Wait(TestUtil.Timeout));
        // The first token has completed; the list still holds a bad one: EINVAL, whatever is ready.
        ulong[] qts = [popped, 0xdead_beef_0000_0001];
        Assert.Equal(Errno.EINVAL, _libOS.WaitAny(out _, out int offset, qts, TestUtil.Timeout));
        Assert.Equal(-1, offset);
        Assert.Equal(Errno.EINVAL, _libOS.WaitAny(out _, out _, [popped, pushed], TestUtil.Timeout)); // a consumed one
        // Nothing was consumed: the good token is still redeemable.
        var result = TestUtil.WaitOk(_libOS, popped);
        Assert.Equal("x", TestUtil.Text(result.Sga));
        Assert.Equal(0, _libOS.SgaFree(result.Sga));
    }

    [Fact]
    public void WaitWithAnInvalidTimeoutIsEinval()
    {
        int qd = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Pop(out ulong qt, qd));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, qt, TimeSpan.FromSeconds(-1)));
        Assert.Equal(Errno.EINVAL, _libOS.Wait(out _, qt, TimeSpan.FromTicks(-1)));
        Assert.Equal(Errno.EINVAL, _libOS.WaitAny(out _, out _, [qt], TimeSpan.FromSeconds(-5)));
        Assert.Equal(Errno.EINVAL, _libOS.WaitNextN(new QResult[1], out _, TimeSpan.FromSeconds(-5)));
        // Still pending; Timeout.InfiniteTimeSpan is .NET's "forever", not an invalid value.
        Assert.Equal(Errno.ETIMEDOUT, _libOS.Wait(out _, qt, TimeSpan.Zero));
        Assert.Equal(0, _libOS.PushTo(out ulong push, qd, TestUtil.Alloc(_libOS, "late"), TestUtil.LocalOf(_libOS, qd)));
        Assert.Equal(0, _libOS.Wait(out var popped, qt, Timeout.InfiniteTimeSpan));
        Assert.Equal("late", TestUtil.Text(popped.Sga));
        TestUtil.WaitOk(_libOS, push);
    }

    [Fact]
    public void WaitAndWaitAnyTimeOutWithEtimedout()
    {
        int qd = TestUtil.UdpSocket(_libOS);
        Assert.Equal(0, _libOS.Pop(out ulong qt, qd));
        Assert.Equal(Errno.ETIMEDOUT, _libOS.Wait(out _, qt, TimeSpan.FromMilliseconds(20)));
        Assert.Equal(Errno.ETIMEDOUT, _libOS.WaitAny(out _, out int offset, [qt], TimeSpan.FromMilliseconds(20)));
        Assert.Equal(-1, offset);
        Assert.Equal(Errno.ETIMEDOUT, _libOS.WaitAny(out _, out _, [qt], TimeSpan.Zero));
    }

    // ---- demi_sgaalloc(3) (no errno: a failure is the null array) and demi_sgafree(3)

    [Theory]
    [InlineData(0L)]
    [InlineData(-1L)]
    [InlineData(long.MaxValue)]
    public void AFailedSgaAllocIsTheNullArray(long size)
    {
        var sga = _libOS.SgaAlloc(size);
        Assert.Equal(0u, sga.NumSegments);
        Assert.False(sga.IsAllocated);
        Assert.Equal(0u, _libOS.SgaAllocUninitialized(size).NumSegments);
    }

    [Fact]
    public void SgaFreeOfNoValidSgaIsEinval()
    {
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(default));
        var live = TestUtil.Alloc(_libOS, "x");
        var unknown = live;
        unknown.Handle = 12345;
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(unknown));
        Assert.Equal(0, _libOS.SgaFree(live));
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(live)); // freed already
    }

    [Fact]
    public void SgaFreeOfAnSgaWithAnInvalidSizeIsEinvalAndFreesNothing()
    {
        var sga = TestUtil.Alloc(_libOS, "size");
        int index = _libOS.Buffers.Pool.IndexOf(sga.Handle);
        Assert.True(_libOS.Buffers.TryResolve(sga.Handle, out var allocation));
        var noSegments = sga;
        noSegments.NumSegments = 0;
        var twoSegments = sga;
        twoSegments.NumSegments = 2;
        var tooLong = sga;
        tooLong.Segment.Length = (uint)_libOS.Buffers.Pool.BufferSize + 1;
        var outside = sga;
        outside.Segment.Buffer = allocation.Start + allocation.Size;
        foreach (var bad in new[] { noSegments, twoSegments, tooLong, outside })
            Assert.Equal(Errno.EINVAL, _libOS.SgaFree(bad));
        Assert.Equal(1, _libOS.Buffers.Pool.RefCount(index)); // still the caller's
        var shrunk = sga;
        shrunk.Segment.Buffer += 1;
        shrunk.Segment.Length = 2; // shrunk inside its allocation: still valid
        Assert.Equal(0, _libOS.SgaFree(shrunk));
        Assert.Equal(0, _libOS.Buffers.Pool.RefCount(index));
    }

    // ---- demi_setsockopt(3) and demi_getsockopt(3)

    [Fact]
    public void SocketOptionsOnNoSocketAreEbadf()
    {
        var one = BitConverter.GetBytes(1);
        var value = new byte[8];
        Assert.Equal(Errno.EBADF, _libOS.SetSockOpt(4242, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, one));
        Assert.Equal(Errno.EBADF, _libOS.GetSockOpt(4242, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, value, out _));
        Assert.Equal(Errno.EBADF, _libOS.SetSockOpt(MemoryQueue(), SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, one));
        int closed = Tcp();
        Assert.Equal(0, _libOS.Close(closed));
        Assert.Equal(Errno.EBADF, _libOS.GetSockOpt(closed, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, value, out _));
    }

    [Fact]
    public void SocketOptionsWithAnInvalidValueOrLengthAreEinval()
    {
        int tcp = Tcp();
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, new byte[2]));
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, ReadOnlySpan<byte>.Empty));
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, new byte[1]));
        Assert.Equal(Errno.EINVAL, _libOS.GetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, new byte[4], out int length));
        Assert.Equal(0, length);
        Assert.Equal(Errno.EINVAL, _libOS.GetSockOpt(tcp, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, new byte[2], out _));
    }

    [Fact]
    public void AnUnsupportedOptionIsEnoprotoopt()
    {
        int tcp = Tcp();
        var one = BitConverter.GetBytes(1);
        Assert.Equal(Errno.ENOPROTOOPT, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, 9999, one));
        Assert.Equal(Errno.ENOPROTOOPT, _libOS.GetSockOpt(tcp, SocketConstants.SOL_SOCKET, 9999, new byte[8], out _));
        Assert.Equal(Errno.ENOPROTOOPT, _libOS.SetSockOpt(tcp, SocketConstants.IPPROTO_TCP, 9999, one));
        // TCP_NODELAY is no option of a datagram socket.
        Assert.Equal(Errno.ENOPROTOOPT, _libOS.SetSockOpt(TestUtil.UdpSocket(_libOS), SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, one));
    }

    [Theory]
    [InlineData(9999)]
    [InlineData(0)]   // IPPROTO_IP
    [InlineData(17)]  // IPPROTO_UDP
    [InlineData(-1)]
    public void AnUnsupportedLevelIsEnotsup(int level)
    {
        var one = BitConverter.GetBytes(1);
        Assert.Equal(Errno.ENOTSUP, _libOS.SetSockOpt(Tcp(), level, SocketConstants.SO_KEEPALIVE, one));
        Assert.Equal(Errno.ENOTSUP, _libOS.GetSockOpt(Tcp(), level, SocketConstants.SO_KEEPALIVE, new byte[8], out _));
        Assert.Equal(Errno.ENOTSUP, _libOS.SetSockOpt(TestUtil.UdpSocket(_libOS), level, SocketConstants.SO_KEEPALIVE, one));
    }

    // ---- demi_getpeername(3) (the addr/addrlen EINVAL lines are the C ABI's: tests/c/errors.c)

    [Fact]
    public void PeerNameOnNoSocketIsEbadf()
    {
        Assert.Equal(Errno.EBADF, _libOS.GetPeerName(4242, out _));
        Assert.Equal(Errno.EBADF, _libOS.GetPeerName(MemoryQueue(), out _));
        var (client, _, _) = TestUtil.TcpPair(_libOS);
        Assert.Equal(0, _libOS.Close(client));
        Assert.Equal(Errno.EBADF, _libOS.GetPeerName(client, out _));
    }

    [Fact]
    public void PeerNameOfAnUnconnectedSocketIsEnotconn()
    {
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(Tcp(), out var peer));
        Assert.Equal(default, peer);
        int bound = Tcp();
        Assert.Equal(0, _libOS.Bind(bound, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(bound, out _));
        var (listener, _) = TestUtil.TcpListener(_libOS);
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(listener, out _));
    }
}
