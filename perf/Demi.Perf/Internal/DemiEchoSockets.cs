using System.Net;

namespace Demi.Perf.Internal;

/// <summary>The three sockets both Demi echo servers serve: UDP echo, TCP echo listener, TCP sink listener.</summary>
internal static class DemiEchoSockets
{
    public static (int Udp, int ListenEcho, int ListenSink) Open(LibOS os, IPAddress ip, int udpPort, int tcpPort, int sinkPort)
    {
        var addr = Ipv4Address.Parse(ip.ToString());
        Check(os.Socket(out int udp, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0), "socket(udp)");
        Check(os.Bind(udp, new Ipv4Endpoint(addr, (ushort)udpPort)), "bind(udp)");
        return (udp, Listen(os, addr, tcpPort, "tcp"), Listen(os, addr, sinkPort, "sink"));
    }

    /// <summary>One UDP socket per shard on <paramref name="port"/>, all with SO_REUSEPORT: each shard echoes the datagrams its own NIC queue receives.</summary>
    public static int[] OpenUdpGroup(LibOS os, IPAddress ip, int port)
    {
        var addr = Ipv4Address.Parse(ip.ToString());
        var qds = new int[os.Shards.Count];
        for (int shard = 0; shard < qds.Length; shard++)
        {
            Check(os.Socket(out qds[shard], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard), "socket(udp group)");
            Check(os.SetSockOpt(qds[shard], SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)), "SO_REUSEPORT");
            Check(os.Bind(qds[shard], new Ipv4Endpoint(addr, (ushort)port)), "bind(udp group)");
        }
        return qds;
    }

    private static int Listen(LibOS os, Ipv4Address addr, int port, string what)
    {
        Check(os.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0), $"socket({what})");
        Check(os.Bind(qd, new Ipv4Endpoint(addr, (ushort)port)), $"bind({what})");
        Check(os.Listen(qd, 128), $"listen({what})");
        return qd;
    }

    public static void Check(int err, string what)
    {
        if (err != 0)
            throw new PerfException($"{what} failed: errno {err}");
    }
}
