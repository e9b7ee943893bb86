using System.Diagnostics;
using Demi.Internal;
using Demi.Internal.Native;

namespace Demi.Runtime;

/// <summary>
/// One dedicated thread, optionally pinned to a core, that owns a set of queue actors and one NIC
/// queue (via its <see cref="IShardDriver"/>). It runs to completion in a loop: drain the mailbox,
/// poll the driver, poll its epoll set, then idle by the configured strategy. Idle parking blocks in
/// epoll_wait on an eventfd that posters signal, plus whatever fds the backend registered.
/// </summary>
/// <remarks>
/// The inbox is <see cref="ShardMailbox"/>, the fd registry and wake-up <see cref="ShardEpoll"/>,
/// message handling <see cref="ShardDispatcher"/>, the idle progression <see cref="IdleBackoff"/>;
/// this type is the loop, parking, and the control calls (<see cref="Invoke"/>).
/// </remarks>
public sealed unsafe class Shard : IDisposable
{
    private const int DrainBudget = 256;
    // A parked shard looks at its driver's timers at least this often.
    private const int MaxParkMs = 1000;

    // Busy rounds in a row after a park before the wake-only fds leave the epoll set again (about a
    // thousand frames at full bursts).
    private const int DisarmAfterBusyRounds = 32;
    private const nuint TimerSlackNanoseconds = 5_000;

    private readonly ShardMailbox _mailbox;
    private readonly ShardEpoll _epoll;
    private readonly IdleStrategy _idle;
    private readonly INetworkBackend _backend;
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _started = new(false);
    private readonly ShardCompletions _completions = new();
    private int _parked;
    private int _disposed;
    private volatile bool _stopping;
    private Exception? _startupError;
    private long _parks;
    private long _messages;
    private int _busyRoundsSincePark;

    [ThreadStatic]
    private static Shard? t_current;

    internal Shard(LibOS libOS, int id, int? core, IdleStrategy idle, int mailboxCapacity, int detachedLimit, INetworkBackend backend)
    {
        LibOS = libOS;
        Id = id;
        Core = core;
        _idle = idle;
        _backend = backend;
        _mailbox = new ShardMailbox(mailboxCapacity);
        _epoll = new ShardEpoll(ex => LibOS.ReportShardFault(this, ex));
        _thread = new Thread(Run) { IsBackground = true, Name = core is int c ? $"demi-shard-{id}@cpu{c}" : $"demi-shard-{id}" };
        Detached = new DetachedOperations(detachedLimit, _thread);
    }

    /// <summary>
    /// Completions produced by this shard, published on its thread without locking (a descriptor's
    /// completions all come from its shard). Subscribers must not block.
    /// </summary>
    public IObservable<QResult> Completions => _completions;

    internal ShardCompletions CompletionStream => _completions;

    /// <summary>The runtime this shard belongs to.</summary>
    public LibOS LibOS { get; }

    /// <summary>Index of the shard (0-based).</summary>
    public int Id { get; }

    /// <summary>The core the shard is pinned to, or null when unpinned.</summary>
    public int? Core { get; }

    /// <summary>
    /// Fire-and-forget operations in flight on this shard. Per shard, not per libOS, because every
    /// Post* and every completion writes it: one counter for all shards was a cache line every core
    /// wrote per operation.
    /// </summary>
    internal DetachedOperations Detached { get; }

    /// <summary>The backend's per-shard I/O engine.</summary>
    public IShardDriver? Driver { get; private set; }

    /// <summary>Number of times the shard parked (diagnostics).</summary>
    public long Parks => Interlocked.Read(ref _parks);

    /// <summary>Messages waiting in the mailbox (a gauge for metrics; possibly a little stale).</summary>
    public int MailboxDepth => _mailbox.Count;

    /// <summary>Messages served (diagnostics).</summary>
    public long MessagesServed => Interlocked.Read(ref _messages);

    /// <summary>The shard thread's Linux thread id (for /proc/self/task/TID and perf tools), 0 before start.</summary>
    public int NativeThreadId { get; private set; }

    /// <summary>True when called from this shard's own thread.</summary>
    public bool IsCurrentThread => Thread.CurrentThread == _thread;

    /// <summary>The shard whose thread is calling, or null on an app thread.</summary>
    public static Shard? Current => t_current;

    internal void Start()
    {
        _thread.Start();
        _started.Wait();
        if (_startupError is not null)
            throw new DemiException(Errno.EINVAL, $"Shard {Id} failed to start: {_startupError.Message}");
    }

    // ---------------------------------------------------------------- posting and control calls

    /// <summary>
    /// On the shard's own thread, reserves the next mailbox slot for the caller to fill in place (see
    /// <see cref="ShardMailbox.TryReserveLocal"/>); false when the mailbox is full or the shard stops.
    /// </summary>
    internal ref ShardMessage TryReserveLocal(out bool reserved)
    {
        Debug.Assert(IsCurrentThread);
        if (_stopping)
        {
            reserved = false;
            return ref System.Runtime.CompilerServices.Unsafe.NullRef<ShardMessage>();
        }
        return ref _mailbox.TryReserveLocal(out reserved);
    }

    /// <summary>Posts a message; false when the mailbox is full (the caller reports EAGAIN).</summary>
    internal bool TryPost(in ShardMessage message)
    {
        if (Thread.CurrentThread == _thread)
            return !_stopping && _mailbox.TryPostLocal(message); // no wake-up: the shard is running
        if (_stopping || !_mailbox.TryPostRemote(message))
            return false;
        Wake();
        return true;
    }

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
        int err = PostCall(call);
        return err != 0 ? err : call.WaitResult();
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
        return PostCall(new ShardCall(body));
    }

    // Control calls must not be lost to a full mailbox: retry until there is room (or the shard stops).
    private int PostCall(ShardCall call)
    {
        var message = new ShardMessage { Kind = MessageKind.Call, Call = call };
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
        _epoll.Signal();
        return true;
    }

    // ---------------------------------------------------------------- fd registry

    /// <summary>
    /// Adds <paramref name="fd"/> to the shard's epoll set (shard thread only). Returns a registration id.
    /// A <paramref name="wakeOnly"/> fd only wakes a parked shard (its driver polls it anyway, e.g. an
    /// AF_XDP socket): while the shard is busy it costs no epoll_wait call.
    /// </summary>
    public int RegisterFd(int fd, uint events, IEpollHandler handler, bool wakeOnly = false)
    {
        Debug.Assert(IsCurrentThread || !_thread.IsAlive);
        return _epoll.Register(fd, events, handler, wakeOnly);
    }

    /// <summary>
    /// Changes the events a registration made with <see cref="RegisterFd"/> watches (shard thread only);
    /// 0 or the errno of <c>epoll_ctl</c>. Edge-triggered: an event added while its condition holds is reported at once.
    /// </summary>
    public int ModifyFd(int registration, int fd, uint events)
    {
        Debug.Assert(IsCurrentThread || !_thread.IsAlive);
        return _epoll.Modify(registration, fd, events);
    }

    /// <summary>
    /// Lets the shard poll a registered socket itself while busy, now that its handler is
    /// <see cref="IBusyPolledHandler.BusyPollable"/> (shard thread only; a no-op once the shard polls
    /// <see cref="ShardEpoll.MaxBusyPolled"/> sockets).
    /// </summary>
    internal bool BusyPollFd(int registration, int fd, uint events)
    {
        Debug.Assert(IsCurrentThread || !_thread.IsAlive);
        return _epoll.BusyPoll(registration, fd, events);
    }

    /// <summary>The shard's epoll fd (tests read its set from <c>/proc/self/fdinfo</c>).</summary>
    internal int EpollFd => _epoll.EpollFd;

    /// <summary>Removes a registration made with <see cref="RegisterFd"/> (before closing the fd).</summary>
    public void UnregisterFd(int registration, int fd) => _epoll.Unregister(registration, fd);

    // ---------------------------------------------------------------- the loop

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
            // Timers of this thread fire within TimerSlackNanoseconds, not the default 50 µs: a shard
            // napping on a queue without a wait fd wakes on time.
            Libc.prctl(Libc.PR_SET_TIMERSLACK, TimerSlackNanoseconds, 0, 0, 0);
            Driver = _backend.CreateDriver(this);
        }
        catch (Exception ex)
        {
            _startupError = ex;
            _started.Set();
            return;
        }
        _started.Set();

        var events = stackalloc Libc.EpollEvent[ShardEpoll.MaxEvents];
        var backoff = new IdleBackoff(_idle);
        while (!_stopping)
        {
            Driver?.BeginRound();
            int work = DrainMailbox();
            if (Driver is not null)
                work += PollDriver();
            if (_epoll.HasPollableFds)
                work += _epoll.Poll(events, 0);
            if (_epoll.HasBusyPolled)
                work += _epoll.PollBusyPolled();
            if (work > 0)
            {
                // A shard that parks often keeps its wake-only fds armed (two epoll_ctl per park
                // would cost more than the wake entries); one that stays busy takes them out.
                if (_epoll.WakeOnlyArmed && ++_busyRoundsSincePark >= DisarmAfterBusyRounds)
                    _epoll.DisarmWakeOnly();
                backoff.Reset();
                continue;
            }
            switch (backoff.Next())
            {
                case IdleStep.Spin:
                    // A busy-polled kernel socket's empty poll is itself a syscall of a few hundred ns: a
                    // pause on top only delays noticing the next datagram.
                    if (!_epoll.HasBusyPolled)
                        Thread.SpinWait(IdleBackoff.SpinPerRound);
                    break;
                case IdleStep.Yield:
                    Thread.Yield();
                    break;
                default:
                    long parkedAt = Stopwatch.GetTimestamp();
                    Park(events);
                    backoff.Parked(parkedAt, Stopwatch.GetTimestamp());
                    break;
            }
        }
        // No post can land after this: serve everything already queued (pending operations complete,
        // waiting callers of Invoke are released), then let the driver go.
        _mailbox.Seal();
        while (DrainMailbox() > 0)
        {
        }
        Driver?.Dispose();
        ShardCachedFreeList.ReturnThreadCaches(); // buffers and token slots
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
        if (_mailbox.HasPending || _stopping)
        {
            Volatile.Write(ref _parked, 0);
            return;
        }
        Interlocked.Increment(ref _parks);
        _busyRoundsSincePark = 0;
        if (!_epoll.WakeOnlyArmed)
            _epoll.ArmWakeOnly();
        long deadline = Driver?.NextDeadline ?? long.MaxValue;
        if (deadline == long.MaxValue)
        {
            _epoll.Poll(events, MaxParkMs);
        }
        else
        {
            // Clamped to the longest park first, so that the conversion to microseconds cannot overflow.
            long remaining = Math.Min(deadline - Stopwatch.GetTimestamp(), MaxParkMs * Stopwatch.Frequency / 1000);
            if (remaining <= 0)
                _epoll.Poll(events, 0);
            else // microsecond resolution: a NIC queue without a wait fd naps for tens of microseconds
                _epoll.PollMicroseconds(events, (remaining * 1_000_000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
        }
        Volatile.Write(ref _parked, 0);
    }

    private int DrainMailbox()
    {
        int served = 0;
        while (served < DrainBudget)
        {
            if (_mailbox.HasLocal)
            {
                // Served in its slot (see ShardMailbox), removed after.
                Serve(ref _mailbox.PeekLocal());
                _mailbox.RemoveLocal();
            }
            else if (_mailbox.TryTakeRemote(out var message))
            {
                Serve(ref message);
            }
            else
            {
                break;
            }
            served++;
        }
        if (served > 0)
            Volatile.Write(ref _messages, _messages + served); // only this thread writes it: no locked add per round
        return served;
    }

    private void Serve(ref ShardMessage message)
    {
        try
        {
            ShardDispatcher.Dispatch(ref message);
        }
        catch (Exception ex)
        {
            // An actor bug must not take the shard down: fail the operation and carry on.
            LibOS.ReportShardFault(this, ex);
            ShardDispatcher.FailAfterFault(message);
        }
    }

    internal void Stop()
    {
        _stopping = true;
        _mailbox.Close();
        _epoll.Signal();
        if (_thread.IsAlive && !IsCurrentThread)
            _thread.Join();
    }

    /// <summary>Stops the shard's thread (waiting for it unless called on it; idempotent), closes its epoll and event descriptors and completes <see cref="Completions"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        Stop();
        _epoll.Dispose();
        _completions.Complete();
        _started.Dispose();
    }
}
