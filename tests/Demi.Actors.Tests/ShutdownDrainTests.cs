using System.Net;
using System.Net.Sockets;

namespace Demi.Actors.Tests;

/// <summary>
/// Issue 16 item 3 on the kernel backend: disposing the libOS right after pushing loses nothing (the
/// peer reads every byte, then end of stream); an app's own SO_LINGER {on, 0} still aborts.
/// </summary>
[Collection(HeavyTests.Name)]
public sealed class ShutdownDrainTests
{
    private const int Chunk = 64 * 1024;
    private const int Chunks = 64; // 4 MB: more than the kernel accepts at once, so pushes are still queued at Dispose
    private const int Runs = 50;

    [Fact]
    public void PushesPostedJustBeforeDisposeAllReachTheKernelPeerThenEndOfStream()
    {
        using var listener = SlowListener(out var endpoint);
        for (int run = 0; run < Runs; run++)
        {
            var libOS = new LibOS();
            int qd = Connect(libOS, endpoint);
            using var peer = listener.Accept();
            for (int i = 0; i < Chunks; i++)
            {
                var sga = libOS.SgaAlloc(Chunk);
                sga.Span.Fill((byte)('a' + i));
                Assert.Equal(0, libOS.PostPush(qd, sga)); // not waited for: most are still queued at Dispose
                Assert.Equal(0, libOS.SgaFree(sga));       // the push holds its own reference
            }
            (int Read, SocketError Error) outcome = default;
            var reader = new Thread(() => outcome = ReadToEnd(peer)); // the peer reads while Dispose drains
            reader.Start();
            libOS.Dispose();
            Assert.True(reader.Join(TestUtil.Timeout));
            var (read, error) = outcome;
            Assert.Equal(new ShutdownReport(0, 0), libOS.LastShutdown); // kernel sockets finish in the kernel: nothing to reset
            Assert.True(error == SocketError.Success, $"run {run}: the peer's read failed with {error} after {read} bytes");
            Assert.Equal(Chunk * Chunks, read);
        }
    }

    [Fact]
    public void AnAppSetLingerOfZeroStillResetsAtClose()
    {
        using var listener = SlowListener(out var endpoint);
        using var libOS = new LibOS();
        int qd = Connect(libOS, endpoint);
        using var peer = listener.Accept();
        Span<byte> linger = stackalloc byte[8];
        BitConverter.TryWriteBytes(linger, 1);
        BitConverter.TryWriteBytes(linger[4..], 0);
        Assert.Equal(0, libOS.SetSockOpt(qd, SocketConstants.SOL_SOCKET, SocketConstants.SO_LINGER, linger));
        var sga = TestUtil.Alloc(libOS, "x");
        TestUtil.WaitOk(libOS, Push(libOS, qd, sga));
        Assert.Equal(0, libOS.Close(qd));
        var (_, error) = ReadToEnd(peer);
        Assert.Equal(SocketError.ConnectionReset, error);
        Assert.Equal(0, libOS.SgaFree(sga));
    }

    private static ulong Push(LibOS libOS, int qd, Sga sga)
    {
        Assert.Equal(0, libOS.Push(out ulong qt, qd, sga));
        return qt;
    }

    private static Socket SlowListener(out Ipv4Endpoint endpoint)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(4);
        endpoint = new Ipv4Endpoint(Ipv4Address.Loopback, (ushort)((IPEndPoint)listener.LocalEndPoint!).Port);
        return listener;
    }

    private static int Connect(LibOS libOS, Ipv4Endpoint endpoint)
    {
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Connect(out ulong qt, qd, endpoint));
        TestUtil.WaitOk(libOS, qt);
        return qd;
    }

    // Reads slowly until end of stream or an error; returns the bytes read and the error (Success at end of stream).
    private static (int Read, SocketError Error) ReadToEnd(Socket peer)
    {
        peer.ReceiveTimeout = (int)TestUtil.Timeout.TotalMilliseconds;
        var buffer = new byte[1024];
        int total = 0;
        while (true)
        {
            int n = peer.Receive(buffer, 0, buffer.Length, SocketFlags.None, out var error);
            if (error != SocketError.Success)
                return (total, error);
            if (n == 0)
                return (total, SocketError.Success);
            total += n;
        }
    }
}
