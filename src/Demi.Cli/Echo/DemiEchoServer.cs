namespace Demi.Cli.Echo;

/// <summary>
/// An echo server written the fast way for Demi: it runs inside the completion handlers on the
/// shard threads (fire-and-forget Post* operations, Rx completions), so a message never crosses a
/// thread. Each popped buffer is pushed straight back (zero copy) and freed when the push completes.
/// </summary>
internal sealed class DemiEchoServer : IDisposable
{
    private const int UdpPopsInFlight = 64;

    private readonly LibOS _libOS;
    private readonly bool _tcp;
    private readonly List<IDisposable> _subscriptions = [];
    private int _listenerQd = -1;
    private long _echoed;

    public DemiEchoServer(LibOS libOS, string protocol)
    {
        _libOS = libOS;
        _tcp = protocol == "tcp";
    }

    /// <summary>Messages (UDP) or segments (TCP) echoed so far.</summary>
    public long Echoed => Interlocked.Read(ref _echoed);

    public Ipv4Endpoint LocalEndPoint { get; private set; }

    public void Start(Ipv4Endpoint bind)
    {
        foreach (var shard in _libOS.Shards)
            _subscriptions.Add(shard.Completions.Subscribe(OnCompletion));
        Check(_libOS.Socket(out _listenerQd, SocketConstants.AF_INET, _tcp ? SocketConstants.SOCK_STREAM : SocketConstants.SOCK_DGRAM, 0), "socket");
        Check(_libOS.Bind(_listenerQd, bind), $"bind {bind}");
        Check(_libOS.GetSockName(_listenerQd, out var local), "getsockname");
        LocalEndPoint = local;
        if (_tcp)
        {
            Check(_libOS.Listen(_listenerQd, 1024), "listen");
            Check(_libOS.PostAccept(_listenerQd), "accept");
        }
        else
        {
            for (int i = 0; i < UdpPopsInFlight; i++)
                Check(_libOS.PostPop(_listenerQd), "pop");
        }
    }

    private void OnCompletion(QResult result)
    {
        switch (result.Opcode)
        {
            case Opcode.Pop:
                OnPop(result);
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
                if (result.Qd == _listenerQd)
                {
                    // A failed accept (EMFILE, ENOBUFS, ...) or pop must not stop the server from serving.
                    if (_tcp)
                        _libOS.PostAccept(_listenerQd);
                    else
                        _libOS.PostPop(_listenerQd);
                }
                else if (_tcp)
                {
                    _libOS.Close(result.Qd); // reset or error on a connection: drop it
                }
                break;
        }
    }

    private void OnPop(in QResult result)
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
        Interlocked.Increment(ref _echoed);
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
        if (_listenerQd >= 0)
            _libOS.Close(_listenerQd);
    }
}
