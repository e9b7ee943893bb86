using System.Runtime.InteropServices;
using System.Text;

namespace Demi.Actors.Tests;

internal static class TestUtil
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Sga Alloc(LibOS libOS, string text)
    {
        var sga = libOS.SgaAlloc(Encoding.UTF8.GetByteCount(text));
        Assert.True(sga.IsAllocated);
        Encoding.UTF8.GetBytes(text, sga.Span);
        return sga;
    }

    public static string Text(in Sga sga) => Encoding.UTF8.GetString(sga.Span);

    public static int UdpSocket(LibOS libOS, ushort port = 0)
    {
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, port)));
        return qd;
    }

    public static Ipv4Endpoint LocalOf(LibOS libOS, int qd)
    {
        Assert.Equal(0, libOS.GetSockName(qd, out var local));
        return local;
    }

    public static QResult WaitOk(LibOS libOS, ulong qt)
    {
        Assert.Equal(0, libOS.Wait(out var result, qt, Timeout));
        Assert.True(result.Opcode != Opcode.Failed, $"operation failed: {result}");
        return result;
    }

    public static byte[] Bytes(in SockAddrIn addr) => MemoryMarshal.AsBytes(new ReadOnlySpan<SockAddrIn>(in addr)).ToArray();

    /// <summary>A listening TCP socket on 127.0.0.1 with an ephemeral port.</summary>
    public static (int Qd, Ipv4Endpoint Local) TcpListener(LibOS libOS)
    {
        Assert.Equal(0, libOS.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Loopback, 0)));
        Assert.Equal(0, libOS.Listen(qd, 16));
        return (qd, LocalOf(libOS, qd));
    }

    /// <summary>A connected pair (client qd, server-side accepted qd) over 127.0.0.1.</summary>
    public static (int Client, int Server, int Listener) TcpPair(LibOS libOS)
    {
        var (listener, local) = TcpListener(libOS);
        Assert.Equal(0, libOS.Accept(out var aqt, listener));
        Assert.Equal(0, libOS.Socket(out int client, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Connect(out var cqt, client, local));
        WaitOk(libOS, cqt);
        var accepted = WaitOk(libOS, aqt);
        Assert.Equal(Opcode.Accept, accepted.Opcode);
        return (client, accepted.AcceptedQd, listener);
    }
}
