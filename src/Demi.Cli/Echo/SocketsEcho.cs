using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Demi.Runtime;

namespace Demi.Cli.Echo;

/// <summary>
/// The same echo shape on plain .NET <see cref="Socket"/>s (the kernel path without Demi), as the
/// baseline Demi is compared with: a server thread per socket/connection, blocking calls, one
/// closed-loop thread per client lane, allocation-free socket calls (spans, SocketAddress).
/// </summary>
internal sealed class SocketsEchoServer : IDisposable
{
    private readonly Socket _socket;
    private readonly bool _tcp;
    private readonly int? _core;
    private readonly bool _spin;
    private readonly List<Socket> _connections = [];
    private volatile bool _stopping;

    /// <summary>Starts serving; <paramref name="spin"/> busy-polls (checks for data without sleeping) instead of blocking in the kernel.</summary>
    public SocketsEchoServer(string protocol, IPEndPoint bind, int? core, bool spin = false)
    {
        _tcp = protocol == "tcp";
        _core = core;
        _spin = spin;
        _socket = _tcp ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
                       : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _socket.Bind(bind);
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        if (_tcp)
            _socket.Listen(1024);
        StartThread(_tcp ? AcceptLoop : UdpLoop);
    }

    public IPEndPoint LocalEndPoint { get; }

    private void StartThread(Action body) => new Thread(() =>
    {
        if (_core is int core)
            CpuSet.PinCurrentThread(core);
        try
        {
            body();
        }
        catch (SocketException) when (_stopping)
        {
        }
        catch (ObjectDisposedException) when (_stopping)
        {
        }
    }) { IsBackground = true, Name = "sockets-echo-server" }.Start();

    private void UdpLoop()
    {
        var buffer = new byte[65536];
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopping)
        {
            if (_spin && _socket.Available == 0)
                continue;
            int n = _socket.ReceiveFrom(buffer, SocketFlags.None, from);
            _socket.SendTo(buffer.AsSpan(0, n), SocketFlags.None, from);
        }
    }

    private void AcceptLoop()
    {
        while (!_stopping)
        {
            var connection = _socket.Accept();
            connection.NoDelay = true;
            connection.Blocking = !_spin;
            lock (_connections)
                _connections.Add(connection);
            StartThread(() =>
            {
                var buffer = new byte[65536];
                while (!_stopping)
                {
                    int n = connection.Receive(buffer, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock)
                        continue; // spinning: nothing yet
                    if (n == 0 || error != SocketError.Success)
                        break;
                    SendAll(connection, buffer.AsSpan(0, n));
                }
                connection.Dispose();
            });
        }
    }

    internal static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = socket.Send(data, SocketFlags.None, out var error);
            if (error != SocketError.Success && error != SocketError.WouldBlock)
                throw new SocketException((int)error);
            data = data[sent..];
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _socket.Dispose();
        lock (_connections)
        {
            foreach (var c in _connections)
                c.Dispose();
        }
    }
}

/// <summary>Closed-loop echo lanes on .NET sockets, one thread each.</summary>
internal static class SocketsEchoClient
{
    /// <summary>Runs the lanes; <paramref name="spin"/> busy-polls for the echo instead of blocking in the kernel.</summary>
    public static EchoResult Run(EchoSettings settings, IPEndPoint server, int? core, string name, bool spin = false)
    {
        var sockets = new Socket[settings.Concurrency];
        for (int i = 0; i < sockets.Length; i++)
        {
            sockets[i] = settings.IsTcp ? new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
                                        : new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sockets[i].Connect(server);
            sockets[i].ReceiveTimeout = 2000;
            sockets[i].Blocking = !spin;
        }
        var recorders = sockets.Select(_ => new LatencyRecorder()).ToArray();
        long measured = 0, total = 0;
        bool measuring = false, stopping = false;
        var threads = sockets.Select((socket, lane) => new Thread(() =>
        {
            if (core is int c)
                CpuSet.PinCurrentThread(c);
            var request = new byte[settings.MessageSize];
            var reply = new byte[Math.Max(settings.MessageSize, 65536)];
            request.AsSpan().Fill((byte)'x');
            try
            {
                while (!Volatile.Read(ref stopping))
                {
                    long sentAt = Stopwatch.GetTimestamp();
                    SocketsEchoServer.SendAll(socket, request);
                    int received = 0;
                    long giveUp = sentAt + 2 * Stopwatch.Frequency;
                    while (received < settings.MessageSize)
                    {
                        int n = socket.Receive(reply, SocketFlags.None, out var error);
                        if (error == SocketError.WouldBlock)
                        {
                            if (Stopwatch.GetTimestamp() > giveUp || Volatile.Read(ref stopping))
                                return; // a lost datagram: this lane stops
                            continue;
                        }
                        if (error != SocketError.Success)
                            return;
                        if (n == 0)
                            return;
                        received += n;
                    }
                    long now = Stopwatch.GetTimestamp();
                    Interlocked.Increment(ref total);
                    if (Volatile.Read(ref measuring))
                    {
                        recorders[lane].Record((now - sentAt) * 1_000_000_000 / Stopwatch.Frequency);
                        Interlocked.Increment(ref measured);
                    }
                }
            }
            catch (SocketException)
            {
                // A lost datagram times out the lane; the run carries on with the others.
            }
        }) { IsBackground = true, Name = $"sockets-echo-client-{lane}" }).ToArray();

        using (new Progress($"{name} {settings.Protocol}", () => Interlocked.Read(ref total), settings.Quiet))
        {
            foreach (var t in threads)
                t.Start();
            Thread.Sleep(settings.Warmup);
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            long started = Stopwatch.GetTimestamp();
            Volatile.Write(ref measuring, true);
            if (settings.Count > 0)
            {
                var limit = Stopwatch.StartNew();
                while (Interlocked.Read(ref measured) < settings.Count && limit.Elapsed < TimeSpan.FromMinutes(10))
                    Thread.Sleep(5);
            }
            else
            {
                Thread.Sleep(settings.Duration);
            }
            Volatile.Write(ref measuring, false);
            long count = Interlocked.Read(ref measured);
            double seconds = (Stopwatch.GetTimestamp() - started) / (double)Stopwatch.Frequency;
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            Volatile.Write(ref stopping, true);
            foreach (var t in threads)
                t.Join(TimeSpan.FromSeconds(3));
            foreach (var s in sockets)
                s.Dispose();
            var all = new LatencyRecorder();
            foreach (var r in recorders)
                all.Add(r);
            return new EchoResult(name, settings.Protocol, settings.MessageSize, settings.Concurrency, count, seconds,
                all.PercentileMicros(50), all.PercentileMicros(99), all.PercentileMicros(99.9), count > 0 ? allocated / (double)count : 0);
        }
    }
}
