using Demi.Runtime;

namespace Demi.Cli.Echo;

/// <summary>
/// An echo server written the fast way for Demi: it runs inside the completion handlers on the
/// shard threads (fire-and-forget Post* operations, Rx completions), so a message never crosses a
/// thread. Each popped buffer is pushed straight back (zero copy) and freed when the push completes.
/// TCP: one listener, which accepts on every shard. UDP on several shards: one socket per shard, all
/// bound with SO_REUSEPORT, so each shard echoes what its own NIC queue receives.
/// </summary>
internal sealed class DemiEchoServer : IDisposable
{
    private const int UdpPopsInFlight = 64;

    private readonly LibOS _libOS;
    private readonly bool _tcp;
    private readonly List<IDisposable> _subscriptions = [];
    private int _listenerQd = -1;
    // UDP: the socket of each shard (the first is _listenerQd).
    private int[] _udpQds = [];
    private readonly ShardCounter _echoed;

    public DemiEchoServer(LibOS libOS, string protocol)
    {
        _libOS = libOS;
        _tcp = protocol == "tcp";
        _echoed = new ShardCounter(libOS.Shards.Count);
    }

    /// <summary>Messages (UDP) or segments (TCP) echoed so far.</summary>
    public long Echoed => _echoed.Total;

    public Ipv4Endpoint LocalEndPoint { get; private set; }

    public void Start(Ipv4Endpoint bind)
    {
        foreach (var shard in _libOS.Shards)
        {
            int id = shard.Id;
            _subscriptions.Add(shard.Completions.Subscribe(new ShardObserver(this, id)));
        }
        if (_tcp)
        {
            Check(_libOS.Socket(out _listenerQd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0), "socket");
            Check(_libOS.Bind(_listenerQd, bind), $"bind {bind}");
            Check(_libOS.GetSockName(_listenerQd, out var local), "getsockname");
            LocalEndPoint = local;
            Check(_libOS.Listen(_listenerQd, 1024), "listen");
            Check(_libOS.PostAccept(_listenerQd), "accept");
            return;
        }
        bool group = _libOS.Shards.Count > 1;
        _udpQds = new int[_libOS.Shards.Count];
        for (int shard = 0; shard < _udpQds.Length; shard++)
        {
            Check(_libOS.Socket(out _udpQds[shard], SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0, shard), "socket");
            if (group)
                Check(_libOS.SetSockOpt(_udpQds[shard], SocketConstants.SOL_SOCKET, SocketConstants.SO_REUSEPORT, BitConverter.GetBytes(1)), "SO_REUSEPORT");
            // Port 0: the first socket picks the port, the others join it.
            Check(_libOS.Bind(_udpQds[shard], shard == 0 ? bind : LocalEndPoint), $"bind {(shard == 0 ? bind : LocalEndPoint)}");
            if (shard == 0)
            {
                Check(_libOS.GetSockName(_udpQds[0], out var local), "getsockname");
                LocalEndPoint = local;
            }
            for (int i = 0; i < UdpPopsInFlight; i++)
                Check(_libOS.PostPop(_udpQds[shard]), "pop");
        }
        _listenerQd = _udpQds[0];
    }

    private void OnCompletion(in QResult result, int shard)
    {
        switch (result.Opcode)
        {
            case Opcode.Pop:
                OnPop(result, shard);
                break;
            case Opcode.Push:
                _libOS.SgaFree(result.Sga);
                // TCP: the next pop waits for this push (see OnPop).
                if (_tcp)
                    _libOS.PostPop(result.Qd);
                break;
            case Opcode.Accept:
                int nodelay = 1;
                _libOS.SetSockOpt(result.AcceptedQd, SocketConstants.IPPROTO_TCP, SocketConstants.TCP_NODELAY, BitConverter.IsLittleEndian ? [1, 0, 0, 0] : BitConverter.GetBytes(nodelay));
                _libOS.PostPop(result.AcceptedQd);
                _libOS.PostAccept(_listenerQd);
                break;
            case Opcode.Failed:
                if (result.Sga.IsAllocated)
                    _libOS.SgaFree(result.Sga); // a failed push still hands back its buffer
                if (result.Ret == Errno.ECANCELED)
                    break;
                if (result.Qd == _listenerQd && _tcp)
                    _libOS.PostAccept(_listenerQd); // a failed accept (EMFILE, ENOBUFS, ...) must not stop the server
                else if (!_tcp)
                    _libOS.PostPop(result.Qd); // nor a failed pop
                else
                    _libOS.Close(result.Qd); // reset or error on a connection: drop it
                break;
        }
    }

    private void OnPop(in QResult result, int shard)
    {
        var sga = result.Sga;
        if (_tcp)
        {
            if (sga.Length == 0)
            {
                _libOS.SgaFree(sga);
                _libOS.Close(result.Qd); // end of stream
                return;
            }
            // One push in flight per connection: the next pop is posted when it completes (it completes
            // once its bytes are in the send buffer, not when acknowledged). Popping on regardless would
            // queue pushes behind a full send buffer, which the stack refuses with ENOBUFS (backpressure)
            // and the connection would be lost: under loss the send buffer fills (issue 16 item 1).
            if (_libOS.PostPush(result.Qd, sga) != 0)
            {
                _libOS.SgaFree(sga);
                _libOS.Close(result.Qd);
                return;
            }
        }
        else
        {
            if (_libOS.PostPushTo(result.Qd, sga, sga.Address.Endpoint) != 0)
                _libOS.SgaFree(sga);
            _libOS.PostPop(result.Qd);
        }
        _echoed.Increment(shard);
    }

    private static void Check(int errno, string what)
    {
        if (errno != 0)
            throw new DemiException(errno, $"echo server: {what} failed: {Errno.Name(errno)}");
    }

    public void Dispose()
    {
        foreach (var s in _subscriptions)
            s.Dispose();
        if (_tcp && _listenerQd >= 0)
            _libOS.Close(_listenerQd);
        foreach (int qd in _udpQds)
            _libOS.Close(qd);
    }

    /// <summary>A shard's completions into <see cref="OnCompletion"/>, by reference (no copy of each result).</summary>
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
}
