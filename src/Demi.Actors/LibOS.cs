using System.Reactive.Linq;
using System.Runtime.InteropServices;
using Demi.Buffers;
using Demi.Internal;
using Demi.Kernel;
using Demi.Queues;
using Demi.Runtime;

namespace Demi;

/// <summary>
/// The Demi library OS: the Demikernel queue API over a network backend, run by pinned
/// single-threaded shards. Every method is thread-safe and returns 0 or a positive Linux errno;
/// asynchronous operations write a queue token that <see cref="Wait"/>, <see cref="WaitAny"/> or
/// <see cref="WaitNextN"/> redeem. The same completions are published on <see cref="Completions"/>,
/// and the <c>*Async</c> methods and typed sockets (<see cref="Async.DemiUdpSocket"/>, ...) offer them as
/// <see cref="ValueTask{TResult}"/>s.
/// </summary>
/// <remarks>
/// This type is the API and its argument checks. Submission (<c>OperationSubmitter</c>),
/// completion and publishing (<c>CompletionPublisher</c>) and waiting (<c>CompletionWaiter</c>)
/// are types of their own.
/// </remarks>
public sealed partial class LibOS : IDisposable
{
    private readonly Shard[] _shards;
    private readonly DescriptorTable _descriptors;
    private readonly TokenTable _tokens;
    private readonly OperationSubmitter _submitter;
    private readonly CompletionPublisher _publisher;
    private readonly CompletionWaiter _waiter;
    private int _nextShard;
    private int _disposed;
    private long _shardFaults;

    /// <summary>Creates a libOS and starts its shards.</summary>
    /// <exception cref="ArgumentException">The options name a core that does not exist, or a bad size.</exception>
    public LibOS(LibOSOptions? options = null)
    {
        options ??= new LibOSOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MailboxCapacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDescriptors, 1);
        int?[] cores = options.Cores is null
            ? Enumerable.Repeat<int?>(null, Math.Max(1, options.ShardCount)).ToArray()
            : CpuSet.Parse(options.Cores).Select(c => (int?)c).ToArray();
        Backend = options.Backend ?? new KernelBackend();
        var pool = Backend.BufferPool;
        Buffers = pool is not null
            ? new BufferManager(pool, options.MaxSgaSize, ownsPool: false)
            : new BufferManager(new BufferPool(options.BufferSize, options.BufferCount, options.Headroom), options.MaxSgaSize, ownsPool: true);
        _descriptors = new DescriptorTable(options.MaxDescriptors);
        _tokens = new TokenTable(options.MaxTokens, cores.Length, FreeAbandonedData);
        _submitter = new OperationSubmitter(_descriptors, Buffers, _tokens);
        _publisher = new CompletionPublisher(_tokens, ReportShardFault);
        _waiter = new CompletionWaiter(_tokens, options.WaitIdle);
        Options = options;
        if (options.DisposeOnProcessExit)
            ProcessExitDrain.Register(this);
        _shards = new Shard[cores.Length];
        try
        {
            for (int i = 0; i < cores.Length; i++)
            {
                _shards[i] = new Shard(this, i, cores[i], options.ShardIdle, options.MailboxCapacity, options.MaxTokens, Backend);
                _shards[i].Start();
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The options this instance was created with (the defaults when none were given).</summary>
    public LibOSOptions Options { get; }

    /// <summary>The network backend sockets are created on.</summary>
    public INetworkBackend Backend { get; }

    /// <summary>Buffer allocation (the pool behind <see cref="SgaAlloc"/>).</summary>
    public BufferManager Buffers { get; }

    /// <summary>The shards, one per configured core.</summary>
    public IReadOnlyList<Shard> Shards => _shards;

    /// <summary>Open queue descriptors.</summary>
    public int OpenDescriptors => _descriptors.Count;

    /// <summary>Operations in flight or completed but not yet redeemed.</summary>
    public int TokensInUse => _tokens.InUse;

    /// <summary>Exceptions caught on shard threads (a bug in an actor; the shard keeps serving).</summary>
    public long ShardFaults => Interlocked.Read(ref _shardFaults);

    /// <summary>Raised (on the shard thread) when an actor throws; the shard carries on.</summary>
    public event Action<Shard, Exception>? ShardFault;

    /// <summary>
    /// Every completion of this libOS, in order per shard, the reactive stand-in for <c>wait_any</c>.
    /// Subscribers run on shard threads: keep them short and never block in them.
    /// </summary>
    public IObservable<QResult> Completions => _publisher.All;

    /// <summary>
    /// Completions of one queue descriptor, published on its shard's thread without a lock. The stream
    /// belongs to the descriptor, not its number: it completes when the descriptor is closed (after its
    /// cancelled operations), and a later descriptor reusing the number has a stream of its own.
    /// Empty (completes at once) if the descriptor is not open.
    /// </summary>
    public IObservable<QResult> CompletionsOf(int qd)
    {
        var actor = _descriptors.Get(qd);
        return actor is null || actor.IsClosed ? Observable.Empty<QResult>() : actor.CompletionSubject.AsObservable();
    }

    // ---------------------------------------------------------------- descriptors

    /// <summary>Creates a socket queue: AF_INET with SOCK_STREAM or SOCK_DGRAM; anything else is ENOTSUP.</summary>
    /// <remarks>Sockets are placed on the shards in turn; <see cref="Socket(out int, int, int, int, int)"/> picks the shard.</remarks>
    public int Socket(out int qd, int domain, int type, int protocol) => CreateSocket(out qd, domain, type, protocol, shard: null);

    /// <summary>
    /// Creates a socket queue on shard <paramref name="shard"/> (an index into <see cref="Shards"/>), as
    /// <see cref="Socket(out int, int, int, int)"/> does otherwise; EINVAL for a shard that does not exist.
    /// A UDP server that serves one port on every core opens a socket per shard, each with SO_REUSEPORT.
    /// </summary>
    public int Socket(out int qd, int domain, int type, int protocol, int shard)
    {
        qd = -1;
        if ((uint)shard >= (uint)_shards.Length)
            return Errno.EINVAL;
        return CreateSocket(out qd, domain, type, protocol, _shards[shard]);
    }

    private int CreateSocket(out int qd, int domain, int type, int protocol, Shard? shard)
    {
        qd = -1;
        if (IsDisposed)
            return Errno.EBADF;
        if (domain != SocketConstants.AF_INET)
            return Errno.ENOTSUP;
        if (type != SocketConstants.SOCK_STREAM && type != SocketConstants.SOCK_DGRAM)
            return Errno.ENOTSUP;
        if (protocol != 0 && protocol != (type == SocketConstants.SOCK_STREAM ? SocketConstants.IPPROTO_TCP : SocketConstants.IPPROTO_UDP))
            return Errno.ENOTSUP;
        int err = Backend.CreateSocket(shard ?? NextShard(), type, out var socket);
        if (err != 0)
            return err;
        return Register(socket!, out qd);
    }

    /// <summary>Creates an in-process memory queue: one thread pushes, another pops.</summary>
    public int Queue(out int qd)
    {
        qd = -1;
        if (IsDisposed)
            return Errno.EBADF;
        return Register(new MemoryQueue(NextShard()), out qd);
    }

    /// <summary>Gives <paramref name="actor"/> a descriptor (sockets and memory queues; tests register their own actors).</summary>
    internal int Register(QueueActor actor, out int qd)
    {
        qd = _descriptors.Add(actor);
        if (qd < 0)
        {
            actor.Shard.InvokeOrPost(() => { actor.OnClose(); return 0; });
            return Errno.EMFILE;
        }
        // The actor attaches (registers its fds) on its shard before its first message or control call.
        return 0;
    }

    /// <summary>Registers a connection accepted on a shard (called by socket actors, on their shard).</summary>
    internal int RegisterAccepted(SocketActor connection)
    {
        int qd = _descriptors.Add(connection);
        if (qd < 0)
            return -1;
        if (connection.Shard.IsCurrentThread)
            connection.EnsureAttached(); // start watching the connection at once (its data may already be there)
        else
            connection.Shard.TryPost(new ShardMessage { Kind = MessageKind.Attach, Actor = connection }); // or at its first operation
        return qd;
    }

    /// <summary>The actor behind a descriptor (for backends and diagnostics); null if not open.</summary>
    public QueueActor? GetActor(int qd) => _descriptors.Get(qd);

    /// <summary>Binds a socket. The address must be a <c>sockaddr_in</c> (16 bytes, AF_INET), else EINVAL.</summary>
    public int Bind(int qd, ReadOnlySpan<byte> sockaddr)
    {
        int notSocket = CheckSocket(qd, out var socket);
        if (notSocket != 0)
            return notSocket;
        int err = SockAddrIn.TryRead(sockaddr, out var local);
        if (err != 0)
            return err;
        return socket.Shard.Invoke(() =>
        {
            socket.EnsureAttached();
            int bound = socket.Bind(local);
            if (bound == 0)
                (Backend as ISocketBindingObserver)?.OnBound(socket);
            return bound;
        });
    }

    /// <summary>Binds a socket to <paramref name="local"/> (address 0 = wildcard, port 0 = ephemeral).</summary>
    public int Bind(int qd, Ipv4Endpoint local) => Bind(qd, AsBytes(local.ToSockAddr()));

    /// <summary>
    /// Marks a stream socket as listening. EINVAL for backlog outside [1, SOMAXCONN] and for a queue
    /// that cannot listen (a datagram socket, a memory queue), EDESTADDRREQ if unbound (demi_listen(3)).
    /// </summary>
    public int Listen(int qd, int backlog)
    {
        int notSocket = CheckSocket(qd, out var socket);
        if (notSocket != 0)
            return notSocket;
        if (backlog < 1 || backlog > SocketConstants.SOMAXCONN)
            return Errno.EINVAL;
        if (socket.SocketType != SocketConstants.SOCK_STREAM)
            return Errno.EINVAL;
        return socket.Shard.Invoke(() =>
        {
            socket.EnsureAttached();
            int err = socket.Listen(backlog);
            if (err == 0)
                socket.IsListening = true;
            return err;
        });
    }

    /// <summary>
    /// Closes a descriptor. Pending operations complete as Failed with ECANCELED. EBADF for any
    /// <paramref name="qd"/> that is not an open descriptor (never opened, already closed, negative).
    /// </summary>
    /// <remarks>
    /// demi_close(3) lists "qd does not refer to a valid I/O queue" under EINVAL and "not a valid I/O
    /// queue descriptor" under EBADF. Every open descriptor of Demi refers to a queue it can close
    /// (sockets and memory queues alike), so the first case never arises; for everything else Demi
    /// answers as Linux close(2) does: EBADF, "fd isn't a valid open file descriptor". Demi never
    /// returns EINVAL from close.
    /// </remarks>
    public int Close(int qd) => Close(qd, out _);

    // The close itself; finishing says whether the connection still has bytes or FINs to exchange in
    // the background, read on the shard right after the close (a later look could miss a connection
    // that finished meanwhile). False when the close was posted (called on another shard).
    private int Close(int qd, out bool finishing)
    {
        finishing = false;
        var actor = _descriptors.Remove(qd);
        if (actor is null)
            return Errno.EBADF;
        actor.MarkClosed();
        bool stillFinishing = false;
        // From another shard's thread the close is posted, not waited for (shards never block on each other).
        int err = actor.Shard.InvokeOrPost(() =>
        {
            if (actor is SocketActor socket)
                (Backend as ISocketBindingObserver)?.OnClosing(socket);
            actor.OnClose();
            actor.CompletionSubjectIfAny?.OnCompleted();
            stillFinishing = actor.IsFinishing;
            return 0;
        });
        finishing = stillFinishing;
        return err;
    }

    // ---------------------------------------------------------------- options

    /// <summary>
    /// Sets a socket option (SOL_SOCKET: SO_LINGER, SO_KEEPALIVE; IPPROTO_TCP: TCP_NODELAY). As
    /// demi_setsockopt(3) says: EBADF for no open socket, ENOTSUP for a level other than SOL_SOCKET and
    /// IPPROTO_TCP, ENOPROTOOPT for an option the level does not have, EINVAL for a value of the wrong size.
    /// </summary>
    public int SetSockOpt(int qd, int level, int optionName, ReadOnlySpan<byte> value)
    {
        if (!TryGetSocket(qd, out var socket))
            return Errno.EBADF;
        if (!SocketConstants.IsSupportedOptionLevel(level))
            return Errno.ENOTSUP;
        var copy = value.ToArray();
        return socket.Shard.Invoke(() => { socket.EnsureAttached(); return socket.SetOption(level, optionName, copy); });
    }

    /// <summary>
    /// Reads a socket option into <paramref name="value"/>; <paramref name="length"/> is the bytes
    /// written. Errors as <see cref="SetSockOpt"/> (demi_getsockopt(3)); EINVAL when
    /// <paramref name="value"/> is too small for the option.
    /// </summary>
    public int GetSockOpt(int qd, int level, int optionName, Span<byte> value, out int length)
    {
        length = 0;
        if (!TryGetSocket(qd, out var socket))
            return Errno.EBADF;
        if (!SocketConstants.IsSupportedOptionLevel(level))
            return Errno.ENOTSUP;
        var buffer = new byte[value.Length];
        int written = 0;
        int err = socket.Shard.Invoke(() => { socket.EnsureAttached(); return socket.GetOption(level, optionName, buffer, out written); });
        if (err == 0)
        {
            buffer.AsSpan(0, written).CopyTo(value);
            length = written;
        }
        return err;
    }

    /// <summary>The connected peer of a stream socket: ENOTCONN when unconnected, ENOTSUP for datagram sockets.</summary>
    public int GetPeerName(int qd, out Ipv4Endpoint peer)
    {
        peer = default;
        if (!TryGetSocket(qd, out var socket))
            return Errno.EBADF;
        Ipv4Endpoint result = default;
        int err = socket.Shard.Invoke(() => { socket.EnsureAttached(); return socket.GetPeerName(out result); });
        peer = result;
        return err;
    }

    /// <summary>The local address a socket is bound to.</summary>
    public int GetSockName(int qd, out Ipv4Endpoint local)
    {
        local = default;
        if (!TryGetSocket(qd, out var socket))
            return Errno.EBADF;
        Ipv4Endpoint result = default;
        int err = socket.Shard.Invoke(() => { socket.EnsureAttached(); return socket.GetSockName(out result); });
        local = result;
        return err;
    }

    // ---------------------------------------------------------------- asynchronous operations

    /// <summary>Accepts a connection on a listening socket; the result carries the new descriptor.</summary>
    public int Accept(out ulong qt, int qd) => _submitter.Submit(qd, Operation.Accept(), Redemption.Wait, out qt, out _);

    /// <summary>Connects a socket to <paramref name="sockaddr"/> (a 16-byte AF_INET <c>sockaddr_in</c>, else EINVAL).</summary>
    public int Connect(out ulong qt, int qd, ReadOnlySpan<byte> sockaddr)
    {
        qt = 0;
        int err = SockAddrIn.TryRead(sockaddr, out var remote);
        if (err != 0)
            return _descriptors.Get(qd) is SocketActor ? err : Errno.EBADF;
        return _submitter.Submit(qd, Operation.Connect(remote), Redemption.Wait, out qt, out _);
    }

    /// <summary>Connects a socket to <paramref name="remote"/>.</summary>
    public int Connect(out ulong qt, int qd, Ipv4Endpoint remote) => Connect(out qt, qd, AsBytes(remote.ToSockAddr()));

    /// <summary>Pushes an sga on a connected socket or a memory queue. The buffer stays the caller's (free it when you like).</summary>
    public int Push(out ulong qt, int qd, in Sga sga) => _submitter.Submit(qd, Operation.Push(sga), Redemption.Wait, out qt, out _);

    /// <summary>
    /// Pushes an sga to <paramref name="sockaddr"/>: a datagram on UDP; on a connected TCP socket the
    /// address is ignored (as Linux sendto). EBADF: not an open socket queue. EINVAL: bad address
    /// structure or size, bad sga, zero-length segment. EAGAIN: no operation could be queued.
    /// </summary>
    public int PushTo(out ulong qt, int qd, in Sga sga, ReadOnlySpan<byte> sockaddr)
    {
        qt = 0;
        if (_descriptors.Get(qd) is not SocketActor)
            return Errno.EBADF;
        int err = SockAddrIn.TryRead(sockaddr, out var destination);
        if (err != 0)
            return err;
        return _submitter.Submit(qd, Operation.PushTo(sga, destination), Redemption.Wait, out qt, out _);
    }

    /// <summary>Pushes an sga to <paramref name="destination"/> (see the span overload).</summary>
    public int PushTo(out ulong qt, int qd, in Sga sga, Ipv4Endpoint destination) => PushTo(out qt, qd, sga, AsBytes(destination.ToSockAddr()));

    /// <summary>Pops the next datagram, stream bytes or queue item. The result's sga is the caller's to free; on TCP a zero-length pop is end of stream.</summary>
    public int Pop(out ulong qt, int qd) => _submitter.Submit(qd, Operation.Pop(), Redemption.Wait, out qt, out _);

    // ---------------------------------------------------------------- fire-and-forget (Rx-only) operations

    // The sga argument of operations that carry none (read for pushes only).
    private static readonly Sga s_noSga;

    /// <summary>
    /// Posts a pop whose completion is delivered only on the Rx streams (<see cref="Completions"/>,
    /// <see cref="CompletionsOf"/>, <see cref="Shard.Completions"/>) with <see cref="QResult.Qt"/> 0:
    /// no token is taken, so there is nothing to wait for or redeem. This is the shape for code that
    /// runs inside a completion handler on the shard thread: no thread hop, no token, and a post made
    /// on the shard's own thread skips the cross-thread mailbox.
    /// </summary>
    public int PostPop(int qd) => _submitter.Submit(qd, MessageKind.Pop, s_noSga, default, false, Redemption.Detached, out _, out _);

    /// <summary>Posts a push whose completion is delivered only on the Rx streams (see <see cref="PostPop"/>).</summary>
    public int PostPush(int qd, in Sga sga) => _submitter.Submit(qd, MessageKind.Push, sga, default, false, Redemption.Detached, out _, out _);

    /// <summary>Posts a pushto whose completion is delivered only on the Rx streams (see <see cref="PostPop"/>).</summary>
    public int PostPushTo(int qd, in Sga sga, Ipv4Endpoint destination)
        => _descriptors.Get(qd) is SocketActor
            ? _submitter.Submit(qd, MessageKind.Push, sga, destination, true, Redemption.Detached, out _, out _)
            : Errno.EBADF;

    /// <summary>Posts an accept whose completion is delivered only on the Rx streams (see <see cref="PostPop"/>).</summary>
    public int PostAccept(int qd) => _submitter.Submit(qd, Operation.Accept(), Redemption.Detached, out _, out _);

    /// <summary>Posts a connect whose completion is delivered only on the Rx streams (see <see cref="PostPop"/>).</summary>
    public int PostConnect(int qd, Ipv4Endpoint remote) => _submitter.Submit(qd, Operation.Connect(remote), Redemption.Detached, out _, out _);

    // ---------------------------------------------------------------- buffers

    /// <summary>
    /// Allocates a buffer of <paramref name="size"/> bytes with headroom for headers, in memory the
    /// backend can transmit from, zeroed (a buffer never carries an earlier owner's bytes). A failed
    /// allocation (size 0 or above the maximum) has no segments.
    /// </summary>
    public Sga SgaAlloc(long size)
    {
        if (size <= 0 || size > Buffers.MaxAllocation || IsDisposed)
            return default;
        return Buffers.Allocate((int)size);
    }

    /// <summary>
    /// <see cref="SgaAlloc"/> without zeroing, for hot paths that overwrite every byte before pushing
    /// (as <see cref="GC.AllocateUninitializedArray{T}"/>): the bytes are whatever the buffer's earlier
    /// owner left there.
    /// </summary>
    public Sga SgaAllocUninitialized(long size)
    {
        if (size <= 0 || size > Buffers.MaxAllocation || IsDisposed)
            return default;
        return Buffers.Allocate((int)size, zero: false);
    }

    /// <summary>
    /// Frees an sga (drops the caller's reference; a push in flight keeps its own). EINVAL, as
    /// demi_sgafree(3) says, when it is no live sga (never allocated, already freed, a stale copy whose
    /// buffer has a new owner) and when its size is invalid: a segment count other than 1, or a segment
    /// reaching outside its allocation. Nothing is freed then.
    /// </summary>
    public int SgaFree(in Sga sga)
    {
        if (Buffers.Validate(sga, out var buffer, allowEmptySegment: true) != 0)
            return Errno.EINVAL;
        buffer.Release();
        return 0;
    }

    // ---------------------------------------------------------------- waiting

    /// <summary>
    /// Waits for <paramref name="qt"/> to complete and consumes it. Null timeout (or
    /// <see cref="Timeout.InfiniteTimeSpan"/>) waits forever, zero polls once; ETIMEDOUT on expiry;
    /// EINVAL for an unknown or consumed token and for any other negative timeout. A failed operation
    /// still returns 0 with an <see cref="Opcode.Failed"/> result. On a shard thread (in a completion
    /// handler) a wait that would block returns EDEADLK: the shard cannot complete what it waits for.
    /// </summary>
    public int Wait(out QResult result, ulong qt, TimeSpan? timeout = null) => _waiter.Wait(out result, qt, timeout);

    /// <summary>
    /// Waits until any of <paramref name="qts"/> completes, consumes it and writes its index to
    /// <paramref name="readyOffset"/>. Other completions stay for later waits. EINVAL at once, before
    /// anything is consumed, for an empty list or one holding an invalid token (demi_wait_any(3)), and
    /// for a bad timeout; ETIMEDOUT and EDEADLK as for <see cref="Wait"/>.
    /// </summary>
    public int WaitAny(out QResult result, out int readyOffset, ReadOnlySpan<ulong> qts, TimeSpan? timeout = null)
        => _waiter.WaitAny(out result, out readyOffset, qts, timeout);

    /// <summary>
    /// Waits for the next completions of any operation not redeemed otherwise, oldest first, and
    /// returns up to <c>results.Length</c> of them (at least one unless it times out). EDEADLK as for <see cref="Wait"/>.
    /// </summary>
    public int WaitNextN(Span<QResult> results, out int count, TimeSpan? timeout = null) => _waiter.WaitNextN(results, out count, timeout);

    // ---------------------------------------------------------------- completions (shard side)

    /// <summary>Publishes a completion: Rx subscribers first, then the token's waiter.</summary>
    internal void Complete(QueueActor actor, in QResult result) => _publisher.Complete(actor, result);

    // A reclaimed result nobody will collect: its popped data is nobody's now.
    private void FreeAbandonedData(in QResult result)
    {
        if (result.Opcode == Opcode.Pop && result.Sga.IsAllocated)
            SgaFree(result.Sga);
    }

    internal void ReportShardFault(Shard shard, Exception exception)
    {
        Interlocked.Increment(ref _shardFaults);
        ShardFault?.Invoke(shard, exception);
    }

    // ---------------------------------------------------------------- helpers

    private Shard NextShard() => _shards[(int)((uint)Interlocked.Increment(ref _nextShard) % (uint)_shards.Length)];

    // 0 for an open socket; EBADF when qd is no open queue; EINVAL for an open queue that is no socket
    // (the man pages' "refers to an I/O queue that does not support the operation").
    private int CheckSocket(int qd, out SocketActor socket)
    {
        var actor = _descriptors.Get(qd);
        socket = (actor as SocketActor)!;
        if (actor is null || actor.IsClosed)
            return Errno.EBADF;
        return socket is null ? Errno.EINVAL : 0;
    }

    // The man pages' split: an unknown level is ENOTSUP (here, for every backend), an unknown option at
    // a known level ENOPROTOOPT (the socket's answer).
    private bool TryGetSocket(int qd, out SocketActor socket)
    {
        socket = (_descriptors.Get(qd) as SocketActor)!;
        return socket is not null && !socket.IsClosed;
    }

    internal static ReadOnlySpan<byte> AsBytes(in SockAddrIn address) => MemoryMarshal.AsBytes(new ReadOnlySpan<SockAddrIn>(in address));

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>What the last <see cref="Dispose"/> did with open connections (null before it ran).</summary>
    public ShutdownReport? LastShutdown { get; private set; }

    /// <summary>
    /// Shuts the libOS down without losing what was pushed: waits (up to
    /// <see cref="LibOSOptions.ShutdownDrainTimeout"/>) for queued pushes to reach their transport,
    /// closes every descriptor gracefully (pending pops and accepts complete with ECANCELED), waits for
    /// the connections to finish (the user-space stack sends, retransmits and exchanges FINs; kernel
    /// sockets finish in the kernel), resets what is left, then stops the shards. A socket the app set
    /// to <c>SO_LINGER {on, 0}</c> is still reset at its close, as on Linux. Called on a shard thread
    /// (which cannot wait for itself) it closes at once.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        ProcessExitDrain.Unregister(this);
        var open = _descriptors.Snapshot();
        var drain = new ShutdownDrain(open, Shard.Current is null ? Options.ShutdownDrainTimeout : TimeSpan.Zero);
        drain.WaitForQueuedPushes();
        int finishing = 0;
        foreach (var actor in open)
        {
            Close(actor.Qd, out bool stillFinishing);
            finishing += stillFinishing ? 1 : 0;
        }
        LastShutdown = drain.WaitForConnections(finishing);
        foreach (var shard in _shards)
            shard?.Dispose();
        _publisher?.Dispose();
        Backend.Dispose();
        Buffers.Dispose();
    }
}
