using System.Diagnostics;
using Demi.Runtime;

namespace Demi.Cli.Echo;

/// <summary>
/// A closed-loop echo client that, like the server, runs inside the shard's completion handlers:
/// each lane sends a message, waits for the whole echo, records the RTT and sends the next.
/// </summary>
internal sealed class DemiEchoClient
{
    private readonly LibOS _libOS;
    private readonly EchoSettings _settings;
    private readonly Dictionary<int, Lane> _lanes = [];
    private readonly LatencyRecorder[] _recorders;
    private readonly ManualResetEventSlim _allStopped = new(false);
    private Ipv4Endpoint _server;
    private volatile bool _measuring;
    private volatile bool _stopping;
    private long _measured;
    private long _total;
    private int _running;
    private int _failures;

    public DemiEchoClient(LibOS libOS, EchoSettings settings)
    {
        _libOS = libOS;
        _settings = settings;
        _recorders = libOS.Shards.Select(_ => new LatencyRecorder()).ToArray();
    }

    /// <summary>Echoes that came back, warm-up included (0: nobody answered).</summary>
    public long Replies => Interlocked.Read(ref _total);

    public EchoResult Run(Ipv4Endpoint server, string name)
    {
        _server = server;
        var subscriptions = _libOS.Shards.Select(s => s.Completions.Subscribe(new CompletionObserver(this))).ToList();
        try
        {
            for (int i = 0; i < _settings.Concurrency; i++)
                OpenLane();
            using var progress = new Progress($"{name} {_settings.Protocol}", () => Interlocked.Read(ref _total), _settings.Quiet);
            _running = _lanes.Count;
            foreach (var lane in _lanes.Values)
                Send(lane);

            Thread.Sleep(_settings.Warmup);
            long allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            long started = Stopwatch.GetTimestamp();
            _measuring = true;
            if (_settings.Count > 0)
            {
                var limit = Stopwatch.StartNew();
                while (Interlocked.Read(ref _measured) < _settings.Count && limit.Elapsed < TimeSpan.FromMinutes(10) && Volatile.Read(ref _running) > 0)
                    Thread.Sleep(5);
            }
            else
            {
                Thread.Sleep(_settings.Duration);
            }
            _measuring = false;
            long measured = Interlocked.Read(ref _measured);
            double seconds = (Stopwatch.GetTimestamp() - started) / (double)Stopwatch.Frequency;
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            _stopping = true;
            _allStopped.Wait(TimeSpan.FromSeconds(2)); // a lost UDP datagram can strand a lane; don't wait for it forever

            var all = new LatencyRecorder();
            foreach (var r in _recorders)
                all.Add(r);
            return new EchoResult(name, _settings.Protocol, _settings.MessageSize, _settings.Concurrency, measured, seconds,
                all.PercentileMicros(50), all.PercentileMicros(99), all.PercentileMicros(99.9),
                measured > 0 ? allocated / (double)measured : 0);
        }
        finally
        {
            foreach (var s in subscriptions)
                s.Dispose();
            foreach (var lane in _lanes.Values)
            {
                _libOS.Close(lane.Qd);
                _libOS.SgaFree(lane.Request);
            }
        }
    }

    private void OpenLane()
    {
        int type = _settings.IsTcp ? SocketConstants.SOCK_STREAM : SocketConstants.SOCK_DGRAM;
        Check(_libOS.Socket(out int qd, SocketConstants.AF_INET, type, 0), "socket");
        if (_settings.IsTcp)
        {
            Check(_libOS.Connect(out var qt, qd, _server), "connect");
            Check(_libOS.Wait(out var connected, qt, TimeSpan.FromSeconds(10)), "connect wait");
            if (connected.Failed)
                throw new DemiException(connected.Error, $"echo client: connect to {_server} failed: {Errno.Name(connected.Error)}");
            Check(_libOS.SetSockOpt(qd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.GetBytes(1)), "TCP_NODELAY");
        }
        else
        {
            Check(_libOS.Bind(qd, new Ipv4Endpoint(Ipv4Address.Any, 0)), "bind");
        }
        var request = _libOS.SgaAlloc(_settings.MessageSize);
        if (!request.IsAllocated)
            throw new DemiException(Errno.ENOMEM, "echo client: cannot allocate the request buffer");
        for (int i = 0; i < request.Length; i++)
            request.Span[i] = (byte)('a' + i % 26);
        var shard = _libOS.GetActor(qd)!.Shard;
        _lanes[qd] = new Lane { Qd = qd, Request = request, Recorder = _recorders[shard.Id] };
    }

    private void Send(Lane lane)
    {
        lane.Received = 0;
        lane.SentAt = Stopwatch.GetTimestamp();
        if (_settings.IsTcp)
            _libOS.PostPush(lane.Qd, lane.Request);
        else
            _libOS.PostPushTo(lane.Qd, lane.Request, _server);
        _libOS.PostPop(lane.Qd);
    }

    private void OnCompletion(in QResult result)
    {
        if (result.Opcode == Opcode.Failed)
        {
            // A failed push or pop ends its lane (and is reported) rather than stalling it silently.
            if (result.Ret != Errno.ECANCELED && _lanes.ContainsKey(result.Qd))
            {
                Interlocked.Increment(ref _failures);
                if (_failures == 1)
                    Console.Error.WriteLine($"echo client: lane {result.Qd}: {Errno.Name(result.Ret)}");
                StopLane();
            }
            return;
        }
        if (result.Opcode != Opcode.Pop)
            return; // push completions need nothing: the request buffer is reused
        if (!_lanes.TryGetValue(result.Qd, out var lane))
        {
            _libOS.SgaFree(result.Sga);
            return;
        }
        lane.Received += result.Sga.Length;
        bool endOfStream = result.Sga.Length == 0;
        _libOS.SgaFree(result.Sga);
        if (endOfStream)
        {
            StopLane();
            return;
        }
        if (lane.Received < _settings.MessageSize)
        {
            _libOS.PostPop(lane.Qd); // TCP: the rest of the echo is still coming
            return;
        }
        long now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _total);
        if (_measuring)
        {
            lane.Recorder.Record((now - lane.SentAt) * 1_000_000_000 / Stopwatch.Frequency);
            Interlocked.Increment(ref _measured);
        }
        if (_stopping)
            StopLane();
        else
            Send(lane);
    }

    private void StopLane()
    {
        if (Interlocked.Decrement(ref _running) == 0)
            _allStopped.Set();
    }

    private static void Check(int errno, string what)
    {
        if (errno != 0)
            throw new DemiException(errno, $"echo client: {what} failed: {Errno.Name(errno)}");
    }

    /// <summary>The shards' completions into <see cref="OnCompletion"/>, by reference (no copy of each result).</summary>
    private sealed class CompletionObserver(DemiEchoClient client) : ICompletionObserver
    {
        public void OnNext(in QResult result) => client.OnCompletion(result);

        public void OnNext(QResult value) => client.OnCompletion(value);

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }

    private sealed class Lane
    {
        public int Qd;
        public Sga Request;
        public int Received;
        public long SentAt;
        public required LatencyRecorder Recorder;
    }
}
