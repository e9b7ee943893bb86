using System.Net;
using Demi.Runtime;

namespace Demi.Perf.Internal;

/// <summary>
/// Demi's echo written the way Demi is meant to be driven for speed: the whole server runs inside
/// completion handlers on the shard thread (per-shard Rx streams and fire-and-forget Post*
/// operations), so a message never crosses a thread and the process needs only its one pinned core.
/// A popped buffer is pushed straight back (zero copy) and freed when that push completes.
/// (<see cref="DemiWaitAnyEchoServer"/> is the same server as an app thread looping on WaitAny.)
/// </summary>
internal sealed class DemiEchoServer(IPAddress ip, int udpPort, int tcpPort, int sinkPort, INetworkBackend? backend) : IEchoServer
{
    private const int UdpPopsInFlight = 32;

    private LibOS? _libos;
    private readonly List<IDisposable> _subscriptions = [];
    // Indexed by qd - 500 (Demi's first descriptor); written on accept, read per message without a lock.
    private readonly bool[] _isSink = new bool[65_536];
    private int _udp, _listenEcho, _listenSink;
    // The scaling benchmark's UDP port served on every shard: one SO_REUSEPORT socket per shard (qd - 500 -> true).
    private readonly bool[] _isGroupUdp = new bool[65_536];
    // Allocation is counted from the WarmupMessages-th echo on, so JIT tiering and start-up are excluded.
    private const long WarmupMessages = 50_000;
    // UDP echoes per shard: one shared counter would be a write from every core per message, which the
    // scaling benchmark would measure.
    private ShardCounter _echoed = null!;
    private long _allocatedAtWarm = -1;

    public void Start(CancellationToken stop)
    {
        var cores = Environment.GetEnvironmentVariable("DEMI_PERF_CORES");
        // The shard is the only busy thread; spin-then-park keeps it from starving the kernel's
        // deferred network work on the same core (see perf/README.md).
        var shardIdle = IdleStrategy.Parse(Environment.GetEnvironmentVariable("DEMI_PERF_SHARD_IDLE") ?? "default");
        _libos = new LibOS(new LibOSOptions { Backend = backend, Cores = string.IsNullOrEmpty(cores) ? null : cores, ShardIdle = shardIdle });
        var os = _libos;
        _echoed = new ShardCounter(os.Shards.Count);
        foreach (var shard in os.Shards)
            _subscriptions.Add(shard.Completions.Subscribe(new ShardObserver(this, shard.Id)));
        (_udp, _listenEcho, _listenSink) = DemiEchoSockets.Open(os, ip, udpPort, tcpPort, sinkPort);
        for (int i = 0; i < UdpPopsInFlight; i++)
            Check(os.PostPop(_udp), "pop(udp)");
        if (int.TryParse(Environment.GetEnvironmentVariable("DEMI_PERF_UDP_GROUP_PORT"), out int groupPort))
        {
            foreach (int qd in DemiEchoSockets.OpenUdpGroup(os, ip, groupPort))
            {
                _isGroupUdp[qd - 500] = true;
                for (int i = 0; i < UdpPopsInFlight; i++)
                    Check(os.PostPop(qd), "pop(udp group)");
            }
        }
        if (Environment.GetEnvironmentVariable("DEMI_PERF_SHARDS") is { Length: > 0 })
            StartScalingReport(backend as Demi.Transport.Xdp.XdpBackend, stop);
        Check(os.PostAccept(_listenEcho), "accept(tcp)");
        Check(os.PostAccept(_listenSink), "accept(sink)");
    }

    private void OnCompletion(in QResult r, int shard)
    {
        var os = _libos!;
        switch (r.Opcode)
        {
            case Opcode.Pop when r.Qd == _udp || _isGroupUdp[r.Qd - 500]:
                if (os.PostPushTo(r.Qd, r.Sga, r.Sga.Address.Endpoint) != 0)
                    os.SgaFree(r.Sga);
                os.PostPop(r.Qd);
                if (_echoed.Increment(shard) == WarmupMessages)
                    Interlocked.CompareExchange(ref _allocatedAtWarm, GC.GetTotalAllocatedBytes(precise: true), -1);
                break;
            case Opcode.Pop:
                if (r.Sga.Length == 0)
                {
                    // End of stream: closing sends our FIN (the bulk client waits for it).
                    os.SgaFree(r.Sga);
                    Volatile.Write(ref _isSink[r.Qd - 500], false);
                    os.Close(r.Qd);
                    break;
                }
                if (Volatile.Read(ref _isSink[r.Qd - 500]) || os.PostPush(r.Qd, r.Sga) != 0)
                    os.SgaFree(r.Sga);
                os.PostPop(r.Qd);
                break;
            case Opcode.Push:
                os.SgaFree(r.Sga);
                break;
            case Opcode.Accept:
                Volatile.Write(ref _isSink[r.AcceptedQd - 500], r.Qd == _listenSink);
                os.PostPop(r.AcceptedQd);
                os.PostAccept(r.Qd);
                break;
            case Opcode.Failed:
                if (r.Sga.IsAllocated)
                    os.SgaFree(r.Sga);
                if ((r.Qd == _udp || _isGroupUdp[r.Qd - 500]) && r.Ret != Errno.ECANCELED)
                    os.PostPop(r.Qd);
                else if (r.Qd != _listenEcho && r.Qd != _listenSink && r.Ret != Errno.ECANCELED)
                    os.Close(r.Qd);
                break;
        }
    }

    private static void Check(int err, string what) => DemiEchoSockets.Check(err, what);

    /// <summary>
    /// A shard's completions into <see cref="OnCompletion"/> with the shard's id, one call per completion (no
    /// delegate in between), by reference (<see cref="ICompletionObserver"/>: no copy of the result).
    /// </summary>
    private sealed class ShardObserver(DemiEchoServer server, int shard) : ICompletionObserver
    {
        public void OnNext(in QResult result) => server.OnCompletion(result, shard);

        public void OnNext(QResult value) => server.OnCompletion(value, shard);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }


    /// <summary>
    /// For the scaling benchmark: "STEER forwarded wakeups udp-echoes ring-full-drops parks
    /// kernel-rx-drops fill-ring-empty" on stdout every 100 ms (the harness diffs two lines; steering
    /// counters are 0 with one shard). The last two are the XSKs' XDP_STATISTICS summed over the
    /// queues: frames the kernel dropped before the server saw them, and how many of those found the
    /// fill ring empty (the queue's shard did not run to refill it).
    /// </summary>
    private void StartScalingReport(Demi.Transport.Xdp.XdpBackend? backend, CancellationToken stop)
    {
        var steering = backend?.Steering;
        var thread = new Thread(() =>
        {
            while (!stop.WaitHandle.WaitOne(100))
            {
                long parks = 0, kernelDrops = 0, fillEmpty = 0;
                foreach (var shard in _libos!.Shards)
                    parks += shard.Parks;
                foreach (var queue in backend?.Queues ?? [])
                {
                    var s = queue.GetStatistics();
                    kernelDrops += s.KernelRxDropped;
                    fillEmpty += s.KernelRxFillEmpty;
                }
                Console.Out.WriteLine($"STEER {steering?.ForwardedFrames ?? 0} {steering?.Wakeups ?? 0} {_echoed.Total} {steering?.DroppedFrames ?? 0} {parks} {kernelDrops} {fillEmpty}");
                Console.Out.Flush();
            }
        }) { IsBackground = true, Name = "steer-report" };
        thread.Start();
    }

    public void Wait(CancellationToken stop)
    {
        stop.WaitHandle.WaitOne();
        // Managed bytes allocated per UDP echo after warm-up (whole server process), for the harness.
        long echoed = _echoed.Total - WarmupMessages, before = Volatile.Read(ref _allocatedAtWarm);
        if (echoed > 0 && before >= 0)
            Console.Out.WriteLine($"STATS {{\"echoed\":{echoed},\"allocated\":{GC.GetTotalAllocatedBytes(precise: true) - before}}}");
        if (backend is Demi.Transport.Dpdk.DpdkBackend dpdk)
        {
            // The DPDK queue's bursts and misses and the stack's counters, whole run: where frames were lost, and how full the PMD's bursts were.
            var q = dpdk.Queues[0].GetStatistics();
            Console.Out.WriteLine($"DPDK {{\"rx_frames\":{q.RxFrames},\"rx_bursts\":{q.RxBursts},\"tx_frames\":{q.TxFrames},\"tx_bursts\":{q.TxBursts},\"rx_missed\":{q.Port.RxMissed},\"rx_nombuf\":{q.Port.RxNoMbuf},\"stack\":\"{Demi.Inet.InetBackend.StackOf(_libos!.Shards[0])?.Counters}\"}}");
        }
        Console.Out.Flush();
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions)
            s.Dispose();
        _libos?.Dispose();
    }
}
