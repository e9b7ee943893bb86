using Demi.Runtime;

namespace Demi.Kv;

/// <summary>
/// A Redis-protocol (RESP2) key-value server on Demi TCP. Shard per core: each shard of the
/// <see cref="LibOS"/> owns the keys whose hash maps to it, and serves the connections whose sockets
/// live on it; a command on a key of another shard is sent there as a message (a Demi memory queue
/// per shard) and answered the same way, never by taking a lock. Requests are parsed in place in the
/// popped buffers and replies written into <c>SgaAlloc</c> buffers.
/// </summary>
public sealed class KvServer : IDisposable
{
    /// <summary>The Redis version the server reports (HELLO, INFO): the one whose replies it matches.</summary>
    internal static ReadOnlySpan<byte> ReportedVersion => "7.0.15"u8;

    private static readonly TimeSpan TickInterval = TimeSpan.FromSeconds(1);

    private readonly LibOS _libOS;
    private readonly List<IDisposable> _subscriptions = [];
    private KvShard[] _shards = [];
    private Timer? _tick;
    private int _clients;
    private long _nextClientId;
    private long _protocolErrors;
    private long _idleClosed;
    private bool _disposed;

    /// <summary>Creates a server on <paramref name="libOS"/> (its backend and shards); <see cref="Start"/> listens.</summary>
    public KvServer(LibOS libOS, KvServerOptions? options = null)
    {
        _libOS = libOS;
        Options = options ?? new KvServerOptions();
        Options.Validate();
    }

    /// <summary>The settings in force.</summary>
    public KvServerOptions Options { get; }

    /// <summary>The address the server listens on (the bound port when 0 was asked for).</summary>
    public Ipv4Endpoint LocalEndPoint { get; private set; }

    /// <summary>Number of shards the keys are spread over.</summary>
    public int ShardCount => _shards.Length;

    /// <summary>Connections being served.</summary>
    public int ConnectedClients => Volatile.Read(ref _clients);

    /// <summary>Connections dropped for breaking the protocol (after their error reply).</summary>
    public long ProtocolErrors => Interlocked.Read(ref _protocolErrors);

    /// <summary>Connections closed by the idle timeout.</summary>
    public long IdleClosed => Interlocked.Read(ref _idleClosed);

    internal int ListenerQd { get; private set; } = -1;

    internal KvShard[] Shards => _shards;

    /// <summary>Sets up the per-shard inboxes and stores, binds, listens and starts accepting.</summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var shards = _libOS.Shards;
        var inboxes = CreateInboxes(shards.Count);
        long cap = Options.MaxMemory / shards.Count;
        _shards = new KvShard[shards.Count];
        for (int i = 0; i < shards.Count; i++)
            _shards[i] = new KvShard(this, shards[i], inboxes[i], cap);
        for (int i = 0; i < shards.Count; i++)
            _subscriptions.Add(shards[i].Completions.Subscribe(_shards[i].OnCompletion));

        Check(_libOS.Socket(out int listener, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0), "socket");
        ListenerQd = listener;
        Check(_libOS.Bind(listener, Options.Bind), $"bind {Options.Bind}");
        Check(_libOS.GetSockName(listener, out var local), "getsockname");
        LocalEndPoint = local;
        Check(_libOS.Listen(listener, 1024), "listen");
        foreach (var shard in _shards)
            Check(_libOS.PostPop(shard.InboxQd), "inbox pop");
        Check(_libOS.PostAccept(listener), "accept");
        _tick = new Timer(_ => Tick(), null, TickInterval, TickInterval);
    }

    /// <summary>One memory queue per shard, each owned by its shard (queues are spread round-robin: keep one per shard).</summary>
    private int[] CreateInboxes(int count)
    {
        var inboxes = new int[count];
        Array.Fill(inboxes, -1);
        var extra = new List<int>();
        int found = 0;
        for (int attempt = 0; attempt < count * 4 && found < count; attempt++)
        {
            Check(_libOS.Queue(out int qd), "queue");
            int shard = _libOS.GetActor(qd)!.Shard.Id;
            if (inboxes[shard] < 0)
            {
                inboxes[shard] = qd;
                found++;
            }
            else
            {
                extra.Add(qd);
            }
        }
        foreach (int qd in extra)
            _libOS.Close(qd);
        if (found < count)
            throw new DemiException(Errno.EINVAL, "kv: could not place an inbox queue on every shard");
        return inboxes;
    }

    private void Tick()
    {
        foreach (var shard in _shards)
            shard.Post(KvShard.MessageKind.Tick, 0, 0);
    }

    /// <summary>The shard that owns keys of hash <paramref name="hash"/>.</summary>
    internal int OwnerOf(int hash) => (int)(((ulong)(uint)hash * (ulong)_shards.Length) >> 32);

    internal long NextClientId() => Interlocked.Increment(ref _nextClientId);

    internal bool TryAddClient()
    {
        if (Interlocked.Increment(ref _clients) > Options.MaxClients)
        {
            Interlocked.Decrement(ref _clients);
            return false;
        }
        return true;
    }

    internal void RemoveClient() => Interlocked.Decrement(ref _clients);

    internal void CountProtocolError() => Interlocked.Increment(ref _protocolErrors);

    internal void CountIdleClose() => Interlocked.Increment(ref _idleClosed);

    /// <summary>Keys stored over all shards (read on each shard; for diagnostics and tests).</summary>
    public long KeyCount()
    {
        long total = 0;
        foreach (var shard in _shards)
        {
            int count = 0;
            shard.Shard.Invoke(() => count = shard.Store.Count);
            total += count;
        }
        return total;
    }

    /// <summary>Keys stored on each shard.</summary>
    public int[] KeysPerShard()
    {
        var counts = new int[_shards.Length];
        for (int i = 0; i < _shards.Length; i++)
        {
            var shard = _shards[i];
            int index = i;
            shard.Shard.Invoke(() => counts[index] = shard.Store.Count);
        }
        return counts;
    }

    private static void Check(int errno, string what)
    {
        if (errno != 0)
            throw new DemiException(errno, $"kv server: {what} failed: {Errno.Name(errno)}");
    }

    /// <summary>Stops accepting, closes every connection and frees the stores (each on its shard).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _tick?.Dispose();
        if (ListenerQd >= 0)
            _libOS.Close(ListenerQd);
        foreach (var shard in _shards)
            shard.Shard.Invoke(() => { shard.CloseAll(); return 0; });
        foreach (var s in _subscriptions)
            s.Dispose();
        foreach (var shard in _shards)
        {
            _libOS.Close(shard.InboxQd);
            shard.Shard.Invoke(() => { shard.Dispose(); return 0; });
        }
    }
}
