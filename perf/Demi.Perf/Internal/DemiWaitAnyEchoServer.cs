using System.Net;
using Demi.Runtime;

namespace Demi.Perf.Internal;

/// <summary>
/// The same servers on Demi's errno API, Demikernel style: one application thread keeps a set of
/// queue tokens (a pop per socket, an accept per listener, pushes in flight) and loops on
/// <see cref="LibOS.WaitAny"/>. A popped buffer is pushed straight back (no copy) and freed at once
/// (buffers are free-protected while the push is in flight). The loop allocates nothing per message.
/// </summary>
internal sealed class DemiWaitAnyEchoServer(IPAddress ip, int udpPort, int tcpPort, int sinkPort, INetworkBackend? backend) : IEchoServer
{
    private enum Kind : byte { UdpPop, AcceptEcho, AcceptSink, EchoPop, SinkPop, Push }

    private const int MaxTokens = 8192;
    private readonly ulong[] _qts = new ulong[MaxTokens];
    private readonly Kind[] _kinds = new Kind[MaxTokens];
    private int _count;
    private LibOS? _libos;
    private Thread? _thread;
    private int _udp, _listenEcho, _listenSink;

    /// <summary>Messages that failed (pushes or pops completing with an error), for the log.</summary>
    public long Failures { get; private set; }

    public void Start(CancellationToken stop)
    {
        // The process is pinned to one core by taskset; the shard runs there too. Both the shard and
        // this thread park when idle: two busy spinners on one core would halve each other.
        var cores = Environment.GetEnvironmentVariable("DEMI_PERF_CORES");
        // DEMI_PERF_SHARD_IDLE / DEMI_PERF_WAIT_IDLE (spin, park, spin-then-park) let a run compare them.
        var shardIdle = IdleStrategy.Parse(Environment.GetEnvironmentVariable("DEMI_PERF_SHARD_IDLE") ?? "default");
        var waitIdle = IdleStrategy.Parse(Environment.GetEnvironmentVariable("DEMI_PERF_WAIT_IDLE") ?? "default");
        _libos = new LibOS(new LibOSOptions
        {
            Backend = backend,
            Cores = string.IsNullOrEmpty(cores) ? null : cores,
            ShardIdle = shardIdle,
            WaitIdle = waitIdle,
        });
        var os = _libos;
        (_udp, _listenEcho, _listenSink) = DemiEchoSockets.Open(os, ip, udpPort, tcpPort, sinkPort);
        Check(os.Pop(out var qt, _udp), "pop(udp)");
        Add(qt, Kind.UdpPop);
        Check(os.Accept(out qt, _listenEcho), "accept(tcp)");
        Add(qt, Kind.AcceptEcho);
        Check(os.Accept(out qt, _listenSink), "accept(sink)");
        Add(qt, Kind.AcceptSink);
        _thread = new Thread(() => Loop(stop)) { IsBackground = true, Name = "demi-echo" };
        _thread.Start();
    }

    private static void Check(int err, string what) => DemiEchoSockets.Check(err, what);

    private void Add(ulong qt, Kind kind)
    {
        if (_count == MaxTokens)
            throw new PerfException("token set full");
        _qts[_count] = qt;
        _kinds[_count++] = kind;
    }

    private void Loop(CancellationToken stop)
    {
        var os = _libos!;
        var timeout = TimeSpan.FromMilliseconds(200);
        while (!stop.IsCancellationRequested)
        {
            int err = os.WaitAny(out var r, out int i, _qts.AsSpan(0, _count), timeout);
            if (err == Errno.ETIMEDOUT)
                continue;
            if (err != 0)
                throw new PerfException($"wait_any failed: errno {err}");
            var kind = _kinds[i];
            _count--;
            _qts[i] = _qts[_count];
            _kinds[i] = _kinds[_count];
            if (r.Failed)
            {
                Failures++;
                if (kind is Kind.EchoPop or Kind.SinkPop)
                    os.Close(r.Qd);
                else if (kind == Kind.UdpPop && os.Pop(out var again, r.Qd) == 0)
                    Add(again, kind);
                continue;
            }
            switch (kind)
            {
                case Kind.UdpPop:
                {
                    if (os.PushTo(out var pqt, r.Qd, r.Sga, r.Sga.Address.Endpoint) == 0)
                        Add(pqt, Kind.Push);
                    os.SgaFree(r.Sga);
                    Check(os.Pop(out var qt, r.Qd), "pop(udp)");
                    Add(qt, Kind.UdpPop);
                    break;
                }
                case Kind.AcceptEcho or Kind.AcceptSink:
                {
                    int c = r.AcceptedQd;
                    Check(os.Pop(out var qt, c), "pop(conn)");
                    Add(qt, kind == Kind.AcceptEcho ? Kind.EchoPop : Kind.SinkPop);
                    Check(os.Accept(out qt, r.Qd), "accept");
                    Add(qt, kind);
                    break;
                }
                case Kind.EchoPop or Kind.SinkPop:
                {
                    if (r.Sga.Length == 0)
                    {
                        // End of stream: closing sends our FIN (the bulk client waits for it).
                        os.SgaFree(r.Sga);
                        os.Close(r.Qd);
                        break;
                    }
                    if (kind == Kind.EchoPop && os.Push(out var pqt, r.Qd, r.Sga) == 0)
                        Add(pqt, Kind.Push);
                    os.SgaFree(r.Sga);
                    Check(os.Pop(out var qt, r.Qd), "pop(conn)");
                    Add(qt, kind);
                    break;
                }
                case Kind.Push:
                    break;
            }
        }
    }

    public void Wait(CancellationToken stop)
    {
        stop.WaitHandle.WaitOne();
        _thread?.Join(2000);
    }

    public void Dispose() => _libos?.Dispose();
}
