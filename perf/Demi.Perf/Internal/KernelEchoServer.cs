using System.Net;
using System.Net.Sockets;

namespace Demi.Perf.Internal;

/// <summary>
/// The kernel-path baseline written the idiomatic .NET way: a blocking UDP receive/send loop on one
/// thread with the allocation-free <see cref="SocketAddress"/> overloads, and async TCP connections
/// (<see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> returns pooled ValueTasks).
/// </summary>
internal sealed class KernelEchoServer(IPAddress ip, int udpPort, int tcpPort, int sinkPort) : IEchoServer
{
    private readonly List<Socket> _sockets = new();
    private Thread? _udpThread;

    public void Start(CancellationToken stop)
    {
        var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        udp.ReceiveBufferSize = 4 << 20;
        udp.SendBufferSize = 4 << 20;
        udp.ReceiveTimeout = 200; // lets the loop notice stop while idle
        udp.Bind(new IPEndPoint(ip, udpPort));
        _sockets.Add(udp);
        _udpThread = new Thread(() => UdpLoop(udp, stop)) { IsBackground = true, Name = "udp-echo" };
        _udpThread.Start();
        foreach (var (port, echo) in new[] { (tcpPort, true), (sinkPort, false) })
        {
            var l = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            l.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            l.Bind(new IPEndPoint(ip, port));
            l.Listen(128);
            _sockets.Add(l);
            _ = AcceptLoop(l, echo, stop);
        }
    }

    private static void UdpLoop(Socket s, CancellationToken stop)
    {
        var buffer = GC.AllocateArray<byte>(65536, pinned: true);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = s.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
            {
                continue;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            s.SendTo(buffer.AsSpan(0, n), SocketFlags.None, from);
        }
    }

    private static async Task AcceptLoop(Socket listener, bool echo, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var c = await listener.AcceptAsync(stop).ConfigureAwait(false);
                c.NoDelay = true;
                _ = echo ? Echo(c, stop) : Sink(c, stop);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        catch (SocketException) { }
    }

    private static async Task Echo(Socket c, CancellationToken stop)
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                int n = await c.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, stop).ConfigureAwait(false);
                if (n == 0)
                    break;
                int off = 0;
                while (off < n)
                    off += await c.SendAsync(buffer.AsMemory(off, n - off), SocketFlags.None, stop).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        c.Dispose();
    }

    private static async Task Sink(Socket c, CancellationToken stop)
    {
        var buffer = new byte[1 << 18];
        try
        {
            while (await c.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, stop).ConfigureAwait(false) > 0) { }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
        c.Dispose(); // closing answers the client's FIN, which ends its bulk measurement
    }

    public void Wait(CancellationToken stop) => stop.WaitHandle.WaitOne();

    public void Dispose()
    {
        foreach (var s in _sockets)
            s.Dispose();
        _udpThread?.Join(1000);
    }
}
