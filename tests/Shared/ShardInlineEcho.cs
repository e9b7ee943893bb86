using System.Collections.Concurrent;

namespace Demi.Tests.Multicore;

/// <summary>
/// A TCP and UDP echo server run inside the shards' completion handlers (per-shard Rx streams and
/// Post* operations, as Demi is meant to be driven): each popped buffer is pushed back as is and
/// freed when its push completes. Records which shard each accepted connection lives on and every
/// failure it sees. Shared by the multi-core tests of several test projects.
/// </summary>
internal sealed class ShardInlineEcho : IDisposable
{
    private const int UdpPopsInFlight = 64;

    private readonly LibOS _os;
    private readonly List<IDisposable> _subscriptions = [];
    private readonly int[] _udp;
    private readonly int _listener;
    // Echoes per UDP descriptor (its index in _udp), for servers with a socket per shard.
    private readonly long[] _udpEchoesOn;
    private readonly ConcurrentDictionary<int, int> _acceptedPerShard = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private long _udpEchoes, _tcpEchoes, _accepted, _endOfStreams;

    /// <summary>Serves <paramref name="udpQd"/> (a bound UDP socket, or -1) and <paramref name="listenQd"/> (a listening TCP socket, or -1).</summary>
    public ShardInlineEcho(LibOS os, int udpQd, int listenQd, int acceptsInFlight = 16)
        : this(os, udpQd >= 0 ? [udpQd] : [], listenQd, acceptsInFlight)
    {
    }

    /// <summary>Serves every socket of <paramref name="udpQds"/> (bound UDP sockets, for example one per shard) and <paramref name="listenQd"/> (or -1).</summary>
    public ShardInlineEcho(LibOS os, int[] udpQds, int listenQd, int acceptsInFlight = 16)
    {
        _os = os;
        _udp = udpQds;
        _udpEchoesOn = new long[udpQds.Length];
        _listener = listenQd;
        foreach (var shard in os.Shards)
            _subscriptions.Add(shard.Completions.Subscribe(OnCompletion));
        foreach (int udpQd in udpQds)
            for (int i = 0; i < UdpPopsInFlight; i++)
                Check(os.PostPop(udpQd), "pop(udp)");
        if (listenQd >= 0)
            for (int i = 0; i < acceptsInFlight; i++)
                Check(os.PostAccept(listenQd), "accept");
    }

    public long UdpEchoes => Interlocked.Read(ref _udpEchoes);

    public long TcpEchoes => Interlocked.Read(ref _tcpEchoes);

    /// <summary>Datagrams echoed on <paramref name="udpQd"/>.</summary>
    public long UdpEchoesOn(int udpQd) => Interlocked.Read(ref _udpEchoesOn[Array.IndexOf(_udp, udpQd)]);

    public long Accepted => Interlocked.Read(ref _accepted);

    public long EndOfStreams => Interlocked.Read(ref _endOfStreams);

    /// <summary>Accepted connections per shard id.</summary>
    public IReadOnlyDictionary<int, int> AcceptedPerShard => _acceptedPerShard;

    public IReadOnlyCollection<string> Errors => _errors;

    private void Check(int rc, string what)
    {
        if (rc != 0)
            _errors.Enqueue($"{what}: {Errno.Name(rc)}");
    }

    private void OnCompletion(QResult r)
    {
        var os = _os;
        switch (r.Opcode)
        {
            case Opcode.Pop when Array.IndexOf(_udp, r.Qd) is int udp and >= 0:
                if (os.PostPushTo(r.Qd, r.Sga, r.Sga.Address.Endpoint) != 0)
                    os.SgaFree(r.Sga);
                Interlocked.Increment(ref _udpEchoes);
                Interlocked.Increment(ref _udpEchoesOn[udp]);
                Check(os.PostPop(r.Qd), "pop(udp)");
                break;
            case Opcode.Pop:
                if (r.Sga.Length == 0)
                {
                    os.SgaFree(r.Sga);
                    Interlocked.Increment(ref _endOfStreams);
                    os.Close(r.Qd);
                    break;
                }
                int rc = os.PostPush(r.Qd, r.Sga);
                if (rc != 0)
                {
                    os.SgaFree(r.Sga);
                    Check(rc, "push(tcp)");
                }
                Interlocked.Increment(ref _tcpEchoes);
                Check(os.PostPop(r.Qd), "pop(tcp)");
                break;
            case Opcode.Push:
                os.SgaFree(r.Sga);
                break;
            case Opcode.Accept:
                Interlocked.Increment(ref _accepted);
                int shard = os.GetActor(r.AcceptedQd)?.Shard.Id ?? -1;
                _acceptedPerShard.AddOrUpdate(shard, 1, (_, n) => n + 1);
                Check(os.PostPop(r.AcceptedQd), "pop(accepted)");
                Check(os.PostAccept(r.Qd), "accept");
                break;
            case Opcode.Failed:
                if (r.Sga.IsAllocated)
                    os.SgaFree(r.Sga);
                if (r.Ret == Errno.ECANCELED)
                    break; // a descriptor closed under its pending operations
                _errors.Enqueue($"qd {r.Qd}: {Errno.Name(r.Ret)}");
                if (Array.IndexOf(_udp, r.Qd) >= 0)
                    os.PostPop(r.Qd);
                else if (r.Qd != _listener)
                    os.Close(r.Qd);
                break;
        }
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions)
            s.Dispose();
    }
}
