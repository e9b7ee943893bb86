using Demi.Inet.Tcp;
using Demi.Inet.Wire;

namespace Demi.Inet.Tests;

/// <summary>
/// The man pages' errnos on the user-space stack's sockets (the kernel backend's are in
/// Demi.Actors.Tests' ManPageErrorTests): the answers the stack's own socket actors give, at call time.
/// </summary>
public sealed class ManPageErrorsOverStackTests : IDisposable
{
    private readonly VirtualWire _wire = new(new VirtualWireOptions { Clock = InetClock.System });
    private readonly LibOS _libOS;

    public ManPageErrorsOverStackTests()
    {
        var nic = _wire.CreatePort(TwoStacks.MacB);
        _libOS = new LibOS(new LibOSOptions
        {
            Backend = new InetBackend(nic, new InetStackOptions { LocalAddress = TwoStacks.AddressB }) { StreamTransport = new TcpTransport() },
            ShardCount = 1,
        });
    }

    public void Dispose()
    {
        _libOS.Dispose();
        _wire.Dispose();
    }

    private int Socket(int type)
    {
        Assert.Equal(0, _libOS.Socket(out int qd, SocketConstants.AF_INET, type, 0));
        return qd;
    }

    [Fact]
    public void SocketOptionErrorsAreThePagesOnTheStack()
    {
        int tcp = Socket(SocketConstants.SOCK_STREAM);
        int udp = Socket(SocketConstants.SOCK_DGRAM);
        var one = BitConverter.GetBytes(1);
        foreach (int qd in new[] { tcp, udp })
        {
            Assert.Equal(Errno.ENOTSUP, _libOS.SetSockOpt(qd, 9999, SocketConstants.SO_KEEPALIVE, one));
            Assert.Equal(Errno.ENOTSUP, _libOS.GetSockOpt(qd, 0, SocketConstants.SO_KEEPALIVE, new byte[8], out _));
            Assert.Equal(Errno.ENOPROTOOPT, _libOS.SetSockOpt(qd, SocketConstants.SOL_SOCKET, 9999, one));
            Assert.Equal(Errno.ENOPROTOOPT, _libOS.GetSockOpt(qd, SocketConstants.SOL_SOCKET, 9999, new byte[8], out _));
        }
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, new byte[2]));
        Assert.Equal(Errno.EINVAL, _libOS.GetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, new byte[4], out _));
        Assert.Equal(Errno.EINVAL, _libOS.SetSockOpt(tcp, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, new byte[1]));
        Assert.Equal(0, _libOS.SetSockOpt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, [1, 0, 0, 0, 3, 0, 0, 0]));
        Assert.Equal(Errno.EBADF, _libOS.SetSockOpt(4242, SocketConstants.SOL_SOCKET, SocketConstants.SO_KEEPALIVE, one));
    }

    [Fact]
    public void PeerNameListenAcceptAndConnectErrorsAreThePagesOnTheStack()
    {
        int tcp = Socket(SocketConstants.SOCK_STREAM);
        int udp = Socket(SocketConstants.SOCK_DGRAM);
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(tcp, out _));
        Assert.Equal(Errno.ENOTSUP, _libOS.GetPeerName(udp, out _));
        Assert.Equal(Errno.EDESTADDRREQ, _libOS.Listen(tcp, 8));
        Assert.Equal(Errno.EINVAL, _libOS.Listen(udp, 8));
        Assert.Equal(Errno.EINVAL, _libOS.Accept(out _, udp));
        Assert.Equal(Errno.EINVAL, _libOS.Accept(out _, tcp));
        Assert.Equal(0, _libOS.Bind(tcp, new Ipv4Endpoint(TwoStacks.AddressB, 80)));
        Assert.Equal(0, _libOS.Listen(tcp, 8));
        Assert.Equal(Errno.EADDRINUSE, _libOS.Listen(tcp, 8));
        Assert.Equal(Errno.ENOTCONN, _libOS.GetPeerName(tcp, out _));
        Assert.Equal(Errno.EINVAL, _libOS.Connect(out ulong qt, tcp, new Ipv4Endpoint(TwoStacks.AddressA, 80)));
        Assert.Equal(0UL, qt);
        int second = Socket(SocketConstants.SOCK_STREAM);
        Assert.Equal(Errno.EADDRINUSE, _libOS.Bind(second, new Ipv4Endpoint(TwoStacks.AddressB, 80)));
    }

    [Fact]
    public void PushAndPopErrorsAreThePagesOnTheStack()
    {
        int udp = Socket(SocketConstants.SOCK_DGRAM);
        var sga = _libOS.SgaAlloc(8);
        var empty = sga;
        empty.Segment.Length = 0;
        var noSegments = sga;
        noSegments.NumSegments = 0;
        var to = new Ipv4Endpoint(TwoStacks.AddressA, 9);
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, udp, empty, to));
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, udp, noSegments, to));
        Assert.Equal(Errno.EINVAL, _libOS.Push(out _, udp, empty));
        Assert.Equal(Errno.EBADF, _libOS.Push(out _, 4242, sga));
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, 4242));
        Assert.Equal(0, _libOS.Close(udp));
        Assert.Equal(Errno.EBADF, _libOS.Pop(out _, udp));
        Assert.Equal(Errno.EBADF, _libOS.Close(udp));
        Assert.Equal(0, _libOS.SgaFree(sga));
        Assert.Equal(Errno.EINVAL, _libOS.SgaFree(sga));
    }
}
