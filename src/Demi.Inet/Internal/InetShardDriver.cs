using System.Collections.Concurrent;
using System.Diagnostics;
using Demi.Inet.Nic;
using Demi.Runtime;

namespace Demi.Inet.Internal;

/// <summary>
/// One shard's network engine: its <see cref="InetStack"/>, an optional transport handler (TCP), the
/// push completions that wait until their frames have been handed to the NIC, and an inbox of
/// control work other shards post to it (listener replicas, accepted connections handed over).
/// </summary>
internal sealed class InetShardDriver : IShardDriver, IEpollHandler
{
    private const uint EpollIn = 0x001;
    // A NIC queue without a wait fd (DPDK) cannot wake a parked shard, so the shard naps instead: a
    // quarter of the time since it last found work, between these bounds (microseconds). Soon after
    // work a nap is short (a request arriving mid-nap waits tens of µs, not a millisecond); a shard
    // idle for 4 ms and more wakes 1,000 times a second.
    private const long MinNapWithoutFd = 10;
    private const long MaxNapWithoutFd = 1000;

    private readonly Shard _shard;
    private readonly INicQueue _nic;
    private readonly IInetTransportFactory? _transport;
    private readonly int _registration = -1;
    private readonly FlowSteering? _steering;
    // Control work posted by other shards (control path: one item per listener change or accepted connection).
    private readonly ConcurrentQueue<Action> _inbox = new();
    private DeferredPush[] _deferred = new DeferredPush[256];
    private int _deferredCount;
    private readonly bool _napsWithoutFd;
    private long _lastWorkMicros;

    private struct DeferredPush
    {
        public InetUdpSocketActor Actor;
        public ulong Tag;
        public ulong Qt;
        public Sga Sga;
        public int Errno;
    }

    public InetShardDriver(Shard shard, INicQueue nic, InetStackOptions options, IInetTransportFactory? transport, FlowSteering? steering = null)
    {
        _shard = shard;
        _nic = nic;
        _napsWithoutFd = nic.WaitFd < 0;
        _steering = steering;
        Stack = new InetStack(nic, options);
        _transport = transport;
        if (transport is not null)
        {
            TransportHandler = transport.CreateHandler(Stack);
            Stack.RegisterProtocol(TransportHandler);
        }
        if (nic.WaitFd >= 0)
        {
            // Wake-only: the driver polls the queue every round anyway, so the fd matters only while parked.
            int registration = shard.RegisterFd(nic.WaitFd, EpollIn, this, wakeOnly: true);
            if (registration >= 0)
                _registration = registration;
        }
        // Last, so that a driver that failed to build leaves nothing to undo: the driver is made on the
        // shard's thread, which polls the queue from now on (Dispose, on the same thread, detaches it).
        nic.AttachPollingThread();
    }

    public InetStack Stack { get; }

    public IIpProtocolHandler? TransportHandler { get; }

    public Shard Shard => _shard;

    /// <summary>
    /// Posts <paramref name="work"/> to run on this shard's thread (from any thread), and wakes the
    /// shard if it is parked. The work must not block.
    /// </summary>
    public void Post(Action work)
    {
        _inbox.Enqueue(work); // an interlocked operation: a full fence before the parked check in Wake
        _shard.Wake();
    }

    /// <summary>Runs the posted work (shard thread; also from a control call waiting for other shards). Returns the items run.</summary>
    public int RunInbox()
    {
        int n = 0;
        while (_inbox.TryDequeue(out var work))
        {
            n++;
            try
            {
                work();
            }
            catch (Exception ex)
            {
                _shard.LibOS.ReportShardFault(_shard, ex);
            }
        }
        return n;
    }

    /// <inheritdoc />
    public void BeginRound() => Stack.BeginRound();

    public int Poll()
    {
        int work = _inbox.IsEmpty ? 0 : RunInbox();
        work += Stack.Poll();
        if (_transport is not null && TransportHandler is not null)
            work += _transport.AfterPoll(TransportHandler);
        // The stack flushed its transmit burst: pushes handed over before it are now complete.
        work += PublishDeferred();
        if (work > 0 && _napsWithoutFd)
            _lastWorkMicros = Stack.LastPollMicroseconds;
        return work;
    }

    public long NextDeadline
    {
        get
        {
            var clock = Stack.Clock;
            long now = clock.NowMicroseconds;
            long deadline = Stack.NextDeadline;
            if (_napsWithoutFd)
                deadline = Math.Min(deadline, now + Math.Clamp((now - _lastWorkMicros) / 4, MinNapWithoutFd, MaxNapWithoutFd));
            // Read after the shard announced it parks: steered frames or posted work make it stay awake.
            if (_deferredCount > 0 || !_inbox.IsEmpty || (_steering?.HasPending(_shard.Id) ?? false))
                deadline = now;
            if (deadline == long.MaxValue)
                return long.MaxValue;
            long remainingTicks = (long)((deadline - now) * (Stopwatch.Frequency / 1_000_000.0));
            return Stopwatch.GetTimestamp() + Math.Max(0, remainingTicks);
        }
    }

    /// <summary>Records a push outcome to publish after the next transmit flush.</summary>
    public void DeferPush(InetUdpSocketActor actor, ulong tag, ulong qt, in Sga sga, int errno)
    {
        if (_deferredCount == _deferred.Length)
            Array.Resize(ref _deferred, _deferred.Length * 2); // grows once to the burst's high-water mark
        // Field by field into the slot: a whole struct built aside and stored is a rep movs per push.
        ref var d = ref _deferred[_deferredCount++];
        d.Actor = actor;
        d.Tag = tag;
        d.Qt = qt;
        d.Sga = sga;
        d.Errno = errno;
    }

    /// <summary>
    /// The NIC refused the frame of a push recorded as successful: publish it as failed instead. Rare
    /// (a full transmit ring), so a linear search from the newest entry is fine.
    /// </summary>
    public void FailDeferred(InetUdpSocketActor actor, ulong tag, int errno)
    {
        for (int i = _deferredCount - 1; i >= 0; i--)
        {
            ref var d = ref _deferred[i];
            if (d.Tag == tag && ReferenceEquals(d.Actor, actor))
            {
                if (d.Errno == 0)
                    d.Errno = errno;
                return;
            }
        }
    }

    private int PublishDeferred()
    {
        int n = _deferredCount;
        for (int i = 0; i < n; i++)
        {
            // By index each time: a completion handler on this thread may push, which appends (and may grow
            // the array: the reference below then points into the old one, which stays as it was).
            ref var d = ref _deferred[i];
            d.Actor.PublishPush(d.Qt, d.Sga, d.Errno);
            _deferred[i] = default;
        }
        // Pushes made while publishing wait for the next flush: keep them.
        int later = _deferredCount - n;
        if (later > 0)
            Array.Copy(_deferred, n, _deferred, 0, later);
        _deferred.AsSpan(later, n).Clear();
        _deferredCount = later;
        return n;
    }

    public void OnReady(uint events)
    {
        // Nothing to do here: the shard polls the stack right after its epoll wait returns.
    }

    public void Dispose()
    {
        RunInbox();
        PublishDeferred();
        if (_registration >= 0)
            _shard.UnregisterFd(_registration, _nic.WaitFd);
        _nic.DetachPollingThread();
        Stack.Dispose();
    }
}
