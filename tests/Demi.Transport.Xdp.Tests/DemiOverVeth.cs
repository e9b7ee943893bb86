using Demi.Inet;
using Demi.Inet.Tcp;
using Demi.Runtime;

namespace Demi.Transport.Xdp.Tests;

/// <summary>Builds libOS instances over AF_XDP on one side of a <see cref="VethNamespaces"/> pair, and small helpers shared by the tests.</summary>
internal static class DemiOverVeth
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A libOS over AF_XDP on <paramref name="side"/> with the side's address, <paramref name="queues"/>
    /// shards (one per veth queue), TCP when <paramref name="tcp"/> is set.
    /// </summary>
    public static LibOS Create(VethNamespaces veth, VethSide side, out XdpBackend backend, int queues = 1, bool tcp = false,
        bool steering = true, string? capturePath = null, IdleStrategy? idle = null, XdpMode mode = XdpMode.Auto, int shards = 0)
    {
        string address = side == VethSide.A ? veth.AddressA : veth.AddressB;
        backend = XdpBackend.Create(
            new XdpQueueOptions { Interface = veth.InterfaceOf(side), NetworkNamespace = veth.NamespaceOf(side), FrameCount = 8192, Mode = mode },
            shard => new InetStackOptions
            {
                LocalAddress = Ipv4Address.Parse(address),
                PrefixLength = 24,
                CapturePath = capturePath is null ? null : $"{capturePath}.{side}.{shard}.pcap",
            },
            queues,
            steering,
            shards);
        if (tcp)
            backend.StreamTransport = new TcpTransport();
        try
        {
            var options = new LibOSOptions { Backend = backend, ShardCount = shards == 0 ? queues : shards };
            // DEMI_SHARD_IDLE / DEMI_WAIT_IDLE (spin, park, spin-then-park) tune benchmarks; tests that depend on parking pass idle.
            if (idle is not null)
                options.ShardIdle = idle;
            else if (Environment.GetEnvironmentVariable("DEMI_SHARD_IDLE") is { Length: > 0 } shardIdle)
                options.ShardIdle = IdleStrategy.Parse(shardIdle);
            if (Environment.GetEnvironmentVariable("DEMI_WAIT_IDLE") is { Length: > 0 } waitIdle)
                options.WaitIdle = IdleStrategy.Parse(waitIdle);
            return new LibOS(options);
        }
        catch
        {
            backend.Dispose();
            throw;
        }
    }

    public static QResult WaitOk(LibOS libOS, ulong qt, TimeSpan? timeout = null)
    {
        int rc = libOS.Wait(out var result, qt, timeout ?? Timeout);
        Assert.True(rc == 0, $"wait: {Errno.Name(rc)}");
        Assert.False(result.Failed, $"operation failed: {Errno.Name(result.Error)}");
        return result;
    }

    /// <summary>A UDP echo server thread on <paramref name="qd"/>: echoes each datagram from its own frame until the descriptor closes.</summary>
    public static Thread StartUdpEcho(LibOS libOS, int qd, Action? onEcho = null)
    {
        var server = new Thread(() =>
        {
            while (libOS.Pop(out var popQt, qd) == 0 && libOS.Wait(out var r, popQt, Timeout) == 0 && !r.Failed)
            {
                // Only a completed echo counts; a failed one ends the server, so the client sees the shortfall.
                bool echoed = libOS.PushTo(out var pushQt, qd, r.Sga, r.Sga.Address.Endpoint) == 0
                    && libOS.Wait(out var pushed, pushQt, Timeout) == 0 && !pushed.Failed;
                libOS.SgaFree(r.Sga);
                if (!echoed)
                    return;
                onEcho?.Invoke();
            }
        }) { IsBackground = true, Name = "udp-echo" };
        server.Start();
        return server;
    }
}
