using System.Diagnostics;
using System.Threading.Channels;
using Demi.Internal.Native;

namespace Demi.Runtime;

/// <summary>
/// One dedicated thread, optionally pinned to a core, that owns a set of queue actors and one NIC
/// queue (via its <see cref="IShardDriver"/>). It runs to completion in a loop: drain the mailbox,
/// poll the driver, poll its epoll set, then idle by the configured strategy. Idle parking blocks in
/// epoll_wait on an eventfd that posters signal, plus whatever fds the backend registered.
/// </summary>
public sealed unsafe class Shard : IDisposable
{
    private const int MaxEvents = 64;
    private const int DrainBudget = 256;
    private const ulong WakeToken = ulong.MaxValue;

    private readonly Channel<ShardMessage> _mailbox;
    private readonly ChannelReader<ShardMessage> _reader;
    private readonly ChannelWriter<ShardMessage> _writer;
    private readonly int _mailboxCapacity;
    private readonly IdleStrategy _idle;
    private readonly INetworkBackend _backend;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new(false);
    private readonly List<IEpollHandler?> _handlers = [];
    private readonly Stack<int> _freeHandlerSlots = new();
    private readonly List<bool> _wakeOnly = [];
    // Messages the shard posts to itself (from completion handlers); touched by the shard thread only.
    private readonly Queue<ShardMessage> _local = new();
    private readonly int _epollFd;
    private readonly int _eventFd;
    private int _mailboxCount;
    private int _parked;
    private int _registeredFds;
    private volatile bool _stopping;
    private Exception? _startupError;
    private long _parks;
    private long _messages;

    internal Shard(LibOS libOS, int id, int? core, IdleStrategy idle, int mailboxCapacity, INetworkBackend backend)
    {
        LibOS = libOS;
        Id = id;
        Core = core;
        _idle = idle;
        _backend = backend;
        _mailboxCapacity = mailboxCapacity;
        // Unbounded single-reader channels are lock-free on write; the capacity is enforced by a counter
        // so that a full mailbox is EAGAIN rather than a blocked caller.
        _mailbox = Channel.CreateUnbounded<ShardMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        _reader = _mailbox.Reader;
        _writer = _mailbox.Writer;
        _epollFd = Libc.epoll_create1(Libc.EPOLL_CLOEXEC);
        _eventFd = Libc.eventfd(0, Libc.EFD_NONBLOCK | Libc.EFD_CLOEXEC);
        if (_epollFd < 0 || _eventFd < 0)
            throw new DemiException(Libc.LastErrno, "Cannot create the shard's epoll set.");
        var ev = new Libc.EpollEvent { Events = Libc.EPOLLIN, Data = WakeToken };
        Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, _eventFd, &ev);
        _thread = new Thread(Run) { IsBackground = true, Name = core is int c ? $"demi-shard-{id}@cpu{c}" : $"demi-shard-{id}" };
    }

    private readonly System.Reactive.Subjects.Subject<QResult> _completions = new();

    /// <summary>
    /// Completions produced by this shard, published on its thread without locking (a descriptor's
    /// completions all come from its shard). Subscribers must not block.
    /// </summary>
    public IObservable<QResult> Completions => _completions;

    internal System.Reactive.Subjects.Subject<QResult> CompletionSubject => _completions;

    /// <summary>The runtime this shard belongs to.</summary>
    public LibOS LibOS { get; }

    /// <summary>Index of the shard (0-based).</summary>
    public int Id { get; }

    /// <summary>The core the shard is pinned to, or null when unpinned.</summary>
    public int? Core { get; }

    /// <summary>The backend's per-shard I/O engine.</summary>
    public IShardDriver? Driver { get; private set; }

    /// <summary>Number of times the shard parked (diagnostics).</summary>
    public long Parks => Interlocked.Read(ref _parks);

    /// <summary>Messages served (diagnostics).</summary>
    public long MessagesServed => Interlocked.Read(ref _messages);

    /// <summary>The shard thread's Linux thread id (for /proc/self/task/TID and perf tools), 0 before start.</summary>
    public int NativeThreadId { get; private set; }

    /// <summary>True when called from this shard's own thread.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    internal void Start()
    {
        _thread.Start();
        _started.Wait();
        if (_startupError is not null)
            throw new DemiException(Errno.EINVAL, $"Shard {Id} failed to start: {_startupError.Message}");
    }

    /// <summary>Posts a message; false when the mailbox is full (the caller reports EAGAIN).</summary>
    internal bool TryPost(in ShardMessage message)
    {
        if (Thread.CurrentThread == _thread)
        {
            // Posted by the shard itself (a completion handler): no other thread is involved, so skip
            // the channel, the shared counter and the wake-up.
            if (_local.Count >= _mailboxCapacity || _stopping)
                return false;
            _local.Enqueue(message);
            return true;
        }
        if (Interlocked.Increment(ref _mailboxCount) > _mailboxCapacity || _stopping || !_writer.TryWrite(message))
        {
            Interlocked.Decrement(ref _mailboxCount);
            return false;
        }
        Wake();
        return true;
    }

    [ThreadStatic]
    private static Shard? t_current;

    /// <summary>The shard whose thread is calling, or null on an app thread.</summary>
    public static Shard? Current => t_current;

    /// <summary>
    /// Runs <paramref name="body"/> on the shard and returns its result (inline when already on the shard).
    /// A shard thread must not block on another shard (two doing it to each other would deadlock): from
    /// another shard's thread this returns EDEADLK without running <paramref name="body"/>.
    /// </summary>
    public int Invoke(Func<int> body)
    {
        if (IsCurrentThread)
            return body();
        if (t_current is not null)
            return Errno.EDEADLK;
        var call = new ShardCall(body);
        // Control calls must not be lost to a full mailbox: retry until there is room.
        var message = new ShardMessage { Kind = MessageKind.Call, Call = call };
        var spinner = new SpinWait();
        while (!TryPost(message))
        {
            if (_stopping)
                return Errno.ECANCELED;
            spinner.SpinOnce();
        }
        return call.WaitResult();
    }

    /// <summary>
    /// Runs <paramref name="body"/> on the shard: inline on the shard, waiting from an app thread, and
    /// without waiting (posted) from another shard's thread. For calls whose result the caller can do
    /// without (close).
    /// </summary>
    internal int InvokeOrPost(Func<int> body)
    {
        if (t_current is null || IsCurrentThread)
            return Invoke(body);
        var message = new ShardMessage { Kind = MessageKind.Call, Call = new ShardCall(body) };
        var spinner = new SpinWait();
        while (!TryPost(message))
        {
            if (_stopping)
                return Errno.ECANCELED;
            spinner.SpinOnce();
        }
        return 0;
    }

    /// <summary>
    /// Wakes the shard if it is parked; true when it was (and an eventfd write was made). A shard
    /// announces parking with a full fence and then asks its driver for due work
    /// (<see cref="IShardDriver.NextDeadline"/>): a producer that publishes work, fences, then calls
    /// this never leaves the work to a sleeping shard.
    /// </summary>
    public bool Wake()
    {
        if (Volatile.Read(ref _parked) == 0)
            return false;
        ulong one = 1;
        Libc.write(_eventFd, &one, sizeof(ulong));
        return true;
    }

    /// <summary>
    /// Adds <paramref name="fd"/> to the shard's epoll set (shard thread only). Returns a registration id.
    /// A <paramref name="wakeOnly"/> fd only wakes a parked shard (its driver polls it anyway, e.g. an
    /// AF_XDP socket): while the shard is busy it costs no epoll_wait call.
    /// </summary>
    public int RegisterFd(int fd, uint events, IEpollHandler handler, bool wakeOnly = false)
    {
        Debug.Assert(IsCurrentThread || !_thread.IsAlive);
        int slot;
        if (_freeHandlerSlots.Count > 0)
        {
            slot = _freeHandlerSlots.Pop();
            _handlers[slot] = handler;
        }
        else
        {
            slot = _handlers.Count;
            _handlers.Add(handler);
        }
        var ev = new Libc.EpollEvent { Events = events, Data = (ulong)slot };
        if (Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            int errno = Libc.LastErrno;
            _handlers[slot] = null;
            _freeHandlerSlots.Push(slot);
            throw new DemiException(errno, $"epoll_ctl ADD failed: {Errno.Name(errno)}");
        }
        while (_wakeOnly.Count <= slot)
            _wakeOnly.Add(false);
        _wakeOnly[slot] = wakeOnly;
        if (!wakeOnly)
            _registeredFds++;
        return slot;
    }

    /// <summary>Removes a registration made with <see cref="RegisterFd"/> (before closing the fd).</summary>
    public void UnregisterFd(int registration, int fd)
    {
        Libc.epoll_ctl(_epollFd, Libc.EPOLL_CTL_DEL, fd, null);
        _handlers[registration] = null;
        _freeHandlerSlots.Push(registration);
        if (!_wakeOnly[registration])
            _registeredFds--;
    }

    private void Run()
    {
        NativeThreadId = Libc.gettid();
        t_current = this;
        try
        {
            if (Core is int core)
            {
                int err = CpuSet.PinCurrentThread(core);
                if (err != 0)
                    throw new DemiException(err, $"Cannot pin shard {Id} to core {core}: {Errno.Name(err)}");
            }
            Driver = _backend.CreateDriver(this);
        }
        catch (Exception ex)
        {
            _startupError = ex;
            _started.Set();
            return;
        }
        _started.Set();

        var events = stackalloc Libc.EpollEvent[MaxEvents];
        int idleRounds = 0;
        int spin = _idle.SpinIterations, yield = _idle.YieldIterations;
        while (!_stopping)
        {
            int work = DrainMailbox();
            if (Driver is not null)
                work += PollDriver();
            if (_registeredFds > 0)
                work += PollEpoll(events, 0);
            if (work > 0)
            {
                idleRounds = 0;
                continue;
            }
            if (_idle.NeverParks || idleRounds < spin)
            {
                idleRounds++;
                Thread.SpinWait(8);
                continue;
            }
            if (idleRounds < spin + yield)
            {
                idleRounds++;
                Thread.Yield();
                continue;
            }
            Park(events);
            idleRounds = 0;
        }
        // No post can land after this: serve everything already queued (pending operations complete,
        // waiting callers of Invoke are released), then let the driver go.
        _writer.TryComplete();
        while (DrainMailbox() > 0)
        {
        }
        Driver?.Dispose();
    }

    private int PollDriver()
    {
        try
        {
            return Driver!.Poll();
        }
        catch (Exception ex)
        {
            // A fault in the backend (or an app's double free surfacing in it) must not end the shard.
            LibOS.ReportShardFault(this, ex);
            return 1;
        }
    }

    private void Park(Libc.EpollEvent* events)
    {
        Interlocked.Exchange(ref _parked, 1); // full fence: posters that enqueue after this see the flag
        if (Volatile.Read(ref _mailboxCount) > 0 || _local.Count > 0 || _stopping)
        {
            Volatile.Write(ref _parked, 0);
            return;
        }
        Interlocked.Increment(ref _parks);
        long deadline = Driver?.NextDeadline ?? long.MaxValue;
        int timeoutMs = 1000;
        if (deadline != long.MaxValue)
        {
            long remaining = deadline - Stopwatch.GetTimestamp();
            timeoutMs = remaining <= 0 ? 0 : (int)Math.Min(1000, (remaining * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
        }
        PollEpoll(events, timeoutMs);
        Volatile.Write(ref _parked, 0);
    }

    private int PollEpoll(Libc.EpollEvent* events, int timeoutMs)
    {
        int n = Libc.epoll_wait(_epollFd, events, MaxEvents, timeoutMs);
        int work = 0;
        for (int i = 0; i < n; i++)
        {
            ulong data = events[i].Data;
            if (data == WakeToken)
            {
                ulong value;
                Libc.read(_eventFd, &value, sizeof(ulong));
                continue;
            }
            var handler = _handlers[(int)data];
            if (handler is null)
                continue;
            work++;
            try
            {
                handler.OnReady(events[i].Events);
            }
            catch (Exception ex)
            {
                LibOS.ReportShardFault(this, ex);
            }
        }
        return work;
    }

    private int DrainMailbox()
    {
        int served = 0;
        while (served < DrainBudget)
        {
            ShardMessage message;
            if (_local.Count > 0)
            {
                message = _local.Dequeue();
            }
            else if (_reader.TryRead(out message))
            {
                Interlocked.Decrement(ref _mailboxCount);
            }
            else
            {
                break;
            }
            served++;
            try
            {
                Dispatch(ref message);
            }
            catch (Exception ex)
            {
                // An actor bug must not take the shard down: fail the operation and carry on.
                LibOS.ReportShardFault(this, ex);
                if (message.Kind != MessageKind.Call && message.Kind != MessageKind.Attach && message.Actor is { } failed)
                    LibOS.Complete(failed, QResult.Fail(failed.Qd, message.Qt, Errno.EIO));
            }
        }
        if (served > 0)
            Interlocked.Add(ref _messages, served);
        return served;
    }

    private static void Dispatch(ref ShardMessage message)
    {
        var actor = message.Actor;
        if (message.Kind == MessageKind.Call)
        {
            message.Call!.Run();
            return;
        }
        actor!.EnsureAttached();
        if (message.Kind == MessageKind.Attach)
            return;
        if (actor!.IsClosed)
        {
            // Raced with Close: the descriptor is gone, so the operation is cancelled.
            var cancelled = QResult.Fail(actor.Qd, message.Qt, Errno.ECANCELED);
            if (message.Kind == MessageKind.Push)
            {
                message.Buffer.Release();
                cancelled.Sga = message.Sga;
            }
            actor.LibOS.Complete(actor, cancelled);
            return;
        }
        switch (message.Kind)
        {
            case MessageKind.Push:
                actor.OnPush(new PushRequest(message.Qt, message.Sga, message.Buffer, message.Endpoint, message.HasEndpoint));
                break;
            case MessageKind.Pop:
                actor.OnPop(message.Qt);
                break;
            case MessageKind.Accept:
                ((SocketActor)actor).OnAccept(message.Qt);
                break;
            case MessageKind.Connect:
                ((SocketActor)actor).OnConnect(message.Qt, message.Endpoint);
                break;
        }
    }

    internal void Stop()
    {
        _stopping = true;
        ulong one = 1;
        Libc.write(_eventFd, &one, sizeof(ulong));
        if (_thread.IsAlive && !IsCurrentThread)
            _thread.Join();
    }

    /// <summary>Stops the shard's thread (waiting for it unless called on it), closes its epoll and event descriptors and completes <see cref="Completions"/>.</summary>
    public void Dispose()
    {
        Stop();
        Libc.close(_eventFd);
        Libc.close(_epollFd);
        _completions.OnCompleted();
        _completions.Dispose();
        _started.Dispose();
    }
}
