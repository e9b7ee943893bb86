using System.Runtime.InteropServices;

namespace Demi.Actors.Tests;

/// <summary>Every error the demi_pushto man page names, and its success paths.</summary>
public sealed class PushToErrorTests : IDisposable
{
    private readonly LibOS _libOS = new();

    public void Dispose() => _libOS.Dispose();

    private (int Qd, Sga Sga, byte[] Dest) Setup()
    {
        int qd = TestUtil.UdpSocket(_libOS);
        var sga = TestUtil.Alloc(_libOS, "hello");
        var dest = TestUtil.Bytes(new Ipv4Endpoint(Ipv4Address.Loopback, 9).ToSockAddr());
        return (qd, sga, dest);
    }

    [Fact]
    public void NullAddressIsEinval()
    {
        var (qd, sga, _) = Setup();
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, sga, ReadOnlySpan<byte>.Empty));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(17)]
    [InlineData(28)]
    public void WrongAddressSizeIsEinval(int size)
    {
        var (qd, sga, dest) = Setup();
        var bytes = new byte[size];
        dest.AsSpan(0, Math.Min(size, dest.Length)).CopyTo(bytes);
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, sga, bytes));
    }

    [Fact]
    public void WrongFamilyIsEinval()
    {
        var (qd, sga, dest) = Setup();
        dest[0] = SocketConstants.AF_INET6;
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, sga, dest));
    }

    [Fact]
    public void SgaWithoutSegmentsIsEinval()
    {
        var (qd, sga, dest) = Setup();
        var bad = sga;
        bad.NumSegments = 0;
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, bad, dest));
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, default, dest));
    }

    [Fact]
    public void SgaWithUnknownHandleIsEinval()
    {
        var (qd, sga, dest) = Setup();
        var bad = sga;
        bad.Handle = 12345;
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, bad, dest));
    }

    [Fact]
    public void ZeroLengthSegmentIsEinval()
    {
        var (qd, sga, dest) = Setup();
        var bad = sga;
        bad.Segment.Length = 0;
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, bad, dest));
    }

    [Fact]
    public void SegmentOutsideItsAllocationIsEinval()
    {
        var (qd, sga, dest) = Setup();
        var before = sga;
        Assert.True(_libOS.Buffers.TryResolve(sga.Handle, out var allocation));
        before.Segment.Buffer = allocation.Start - 1; // the handle is opaque; the allocation's first byte is Start
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, before, dest));
        var beyond = sga;
        beyond.Segment.Length = (uint)_libOS.Buffers.Pool.BufferSize;
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, beyond, dest));
    }

    [Fact]
    public void FreedSgaIsEinval()
    {
        var (qd, sga, dest) = Setup();
        Assert.Equal(0, _libOS.SgaFree(sga));
        Assert.Equal(Errno.EINVAL, _libOS.PushTo(out _, qd, sga, dest));
    }

    [Fact]
    public void NonSocketDescriptorsAreEbadf()
    {
        var (qd, sga, dest) = Setup();
        Assert.Equal(Errno.EBADF, _libOS.PushTo(out _, 12345, sga, dest));
        Assert.Equal(0, _libOS.Queue(out int memoryQd));
        Assert.Equal(Errno.EBADF, _libOS.PushTo(out _, memoryQd, sga, dest));
        Assert.Equal(0, _libOS.Close(qd));
        Assert.Equal(Errno.EBADF, _libOS.PushTo(out _, qd, sga, dest));
    }

    [Fact]
    public void NoTokenLeftIsEagain()
    {
        using var libOS = new LibOS(new LibOSOptions { MaxTokens = 1 });
        int qd = TestUtil.UdpSocket(libOS);
        Assert.Equal(0, libOS.Pop(out var popQt, qd)); // takes the only token and stays pending
        var sga = TestUtil.Alloc(libOS, "x");
        Assert.Equal(Errno.EAGAIN, libOS.PushTo(out var qt, qd, sga, TestUtil.Bytes(TestUtil.LocalOf(libOS, qd).ToSockAddr())));
        Assert.Equal(0ul, qt);
        Assert.Equal(1, libOS.Buffers.Pool.RefCount(libOS.Buffers.Pool.IndexOf(sga.Handle))); // the refused push took no reference
    }

    [Fact]
    public void UdpPushToDeliversDatagramWithSourceAddress()
    {
        int a = TestUtil.UdpSocket(_libOS), b = TestUtil.UdpSocket(_libOS);
        var sga = TestUtil.Alloc(_libOS, "ping");
        Assert.Equal(0, _libOS.Pop(out var popQt, b));
        Assert.Equal(0, _libOS.PushTo(out var qt, a, sga, TestUtil.LocalOf(_libOS, b)));
        var push = TestUtil.WaitOk(_libOS, qt);
        Assert.Equal(Opcode.Push, push.Opcode);
        var pop = TestUtil.WaitOk(_libOS, popQt);
        Assert.Equal("ping", TestUtil.Text(pop.Sga));
        Assert.Equal(TestUtil.LocalOf(_libOS, a), pop.Sga.Address.Endpoint);
        Assert.Equal(0, _libOS.SgaFree(pop.Sga));
        Assert.Equal(0, _libOS.SgaFree(sga));
    }

    [Fact]
    public void ShrunkSegmentPushesOnlyItsBytes()
    {
        int a = TestUtil.UdpSocket(_libOS), b = TestUtil.UdpSocket(_libOS);
        var sga = TestUtil.Alloc(_libOS, "0123456789");
        sga.Segment.Buffer += 2;
        sga.Segment.Length = 5;
        Assert.Equal(0, _libOS.Pop(out var popQt, b));
        Assert.Equal(0, _libOS.PushTo(out var qt, a, sga, TestUtil.LocalOf(_libOS, b)));
        TestUtil.WaitOk(_libOS, qt);
        Assert.Equal("23456", TestUtil.Text(TestUtil.WaitOk(_libOS, popQt).Sga));
    }

    [Fact]
    public void ConnectedTcpIgnoresTheAddress()
    {
        var (client, server, _) = TestUtil.TcpPair(_libOS);
        var sga = TestUtil.Alloc(_libOS, "over tcp");
        Assert.Equal(0, _libOS.Pop(out var popQt, server));
        // An address nobody listens on: TCP ignores it, as Linux sendto does on a connected socket.
        Assert.Equal(0, _libOS.PushTo(out var qt, client, sga, new Ipv4Endpoint(Ipv4Address.Loopback, 1)));
        TestUtil.WaitOk(_libOS, qt);
        Assert.Equal("over tcp", TestUtil.Text(TestUtil.WaitOk(_libOS, popQt).Sga));
    }

    [Fact]
    public void FailedPushCompletesAsFailedWithErrno()
    {
        Assert.Equal(0, _libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        var sga = TestUtil.Alloc(_libOS, "x");
        Assert.Equal(0, _libOS.Push(out var qt, qd, sga)); // unconnected UDP: no destination
        Assert.Equal(0, _libOS.Wait(out var result, qt, TestUtil.Timeout));
        Assert.Equal(Opcode.Failed, result.Opcode);
        Assert.Equal(Errno.EDESTADDRREQ, result.Ret);
        Assert.Equal(qt, result.Qt);
    }

    [Fact]
    public void AbiLayoutsMatchDemikernel()
    {
        Assert.Equal(16, Marshal.SizeOf<SockAddrIn>());
        Assert.Equal(12, Marshal.SizeOf<SgaSegment>());
        Assert.Equal(40, Marshal.SizeOf<Sga>());
        Assert.Equal(64, Marshal.SizeOf<QResult>());
        Assert.Equal(0, (int)Marshal.OffsetOf<QResult>(nameof(QResult.Opcode)));
        Assert.Equal(4, (int)Marshal.OffsetOf<QResult>(nameof(QResult.Qd)));
        Assert.Equal(8, (int)Marshal.OffsetOf<QResult>(nameof(QResult.Qt)));
        Assert.Equal(16, (int)Marshal.OffsetOf<QResult>(nameof(QResult.Ret)));
        Assert.Equal(24, (int)Marshal.OffsetOf<QResult>(nameof(QResult.Sga)));
        Assert.Equal(24, (int)Marshal.OffsetOf<QResult>(nameof(QResult.AcceptedQd)));
        Assert.Equal(28, (int)Marshal.OffsetOf<QResult>(nameof(QResult.AcceptedAddress)));
        Assert.Equal(12, (int)Marshal.OffsetOf<Sga>(nameof(Sga.Segment)));
        Assert.Equal(24, (int)Marshal.OffsetOf<Sga>(nameof(Sga.Address)));
    }
}
