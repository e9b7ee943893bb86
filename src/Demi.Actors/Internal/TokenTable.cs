using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Demi.Internal;

/// <summary>
/// Queue tokens: a fixed table of reusable slots. A token is (generation &lt;&lt; 32 | slot+1), so a
/// consumed or unknown token never matches a live slot (EINVAL), and the table being full is EAGAIN.
/// </summary>
/// <remarks>
/// Completing a token writes only that token's slot and the completing shard's own counter: the
/// completion order WaitNextN needs is kept per shard, and only threads registered on the slot (or in
/// WaitNextN) are woken. Nothing on the completion path is written by two shards, and a slot freed on a
/// shard goes to that shard's cache of free slots (<see cref="ShardCachedFreeList"/>), so allocation is
/// shard-local too. The caches hold at most 32 slots per shard; slots cached by other shards do not count
/// as free to the caller (EAGAIN once the rest are taken) nor as in use in <see cref="InUse"/>.
/// <para>
/// Results nobody collects: a completed result stays until it is redeemed, with two exceptions made
/// only when the table is full (the alternative being EAGAIN): results of operations cancelled by a
/// close (ECANCELED, which carry no data) and async results not awaited within
/// <see cref="AbandonedAsyncAge"/> of completing are reclaimed (a popped buffer they carry is freed);
/// their tokens are then EINVAL, and awaiting such a ValueTask throws InvalidOperationException. Every other result (data the
/// app owns) is kept until redeemed, so the bound is <see cref="Capacity"/>.
/// </para>
/// </remarks>
internal sealed class TokenTable
{
    private readonly TokenSlot?[] _slots;
    // Slots freed and taken again on one shard stay in that shard's cache (the shared head would be a write per operation from every core).
    private readonly ShardCachedFreeList _free;
    private readonly ShardCompletions[] _shards;
    private readonly object _waitersGate = new();
    // Threads in WaitNextN, woken by any completion; written only when such a thread parks or leaves.
    private TokenWaiter[] _anyWaiters = [];
    // WaitNextN needs completions in order; the queues are only kept once somebody has called it, so
    // apps that redeem tokens with Wait never pay for them.
    private volatile bool _trackOrder;
    // True while StartTrackingOrder queues the completions that came before it (completions meanwhile queue behind them).
    private volatile bool _trackingStarts;
    private readonly object _reclaimGate = new();

    /// <summary>An async result not awaited this long after completing counts as abandoned (reclaimed when the table is full).</summary>
    public static readonly TimeSpan AbandonedAsyncAge = TimeSpan.FromSeconds(1);

    /// <summary>Frees what a reclaimed result carries (its popped buffer).</summary>
    public delegate void AbandonedResultHandler(in QResult result);

    private readonly AbandonedResultHandler? _onAbandoned;

    public TokenTable(int capacity, int shards = 1, AbandonedResultHandler? onAbandoned = null)
    {
        _onAbandoned = onAbandoned;
        _slots = new TokenSlot?[capacity];
        _free = new ShardCachedFreeList(capacity);
        _shards = new ShardCompletions[Math.Max(1, shards)];
        for (int i = 0; i < _shards.Length; i++)
            _shards[i] = new ShardCompletions();
    }

    public int Capacity => _slots.Length;

    public int InUse => _slots.Length - _free.Count;

    /// <summary>Takes a slot for a new operation; false when every token is in flight.</summary>
    public bool TryAllocate(bool asyncOwned, out TokenSlot slot)
    {
        if (!_free.TryPop(out int index) && (ReclaimAbandoned() == 0 || !_free.TryPop(out index)))
        {
            slot = null!;
            return false;
        }
        slot = _slots[index] ??= new TokenSlot(this, index);
        slot.AsyncOwned = asyncOwned;
        if (asyncOwned)
            slot.Reset();
        Volatile.Write(ref slot.State, TokenSlot.Pending);
        return true;
    }

    /// <summary>The live slot for <paramref name="token"/>, or null if it is unknown or already consumed.</summary>
    public TokenSlot? Find(ulong token)
    {
        int index = (int)(uint)token - 1;
        uint generation = (uint)(token >> 32);
        if ((uint)index >= (uint)_slots.Length)
            return null;
        var slot = Volatile.Read(ref _slots[index]);
        if (slot is null || slot.Generation != generation || Volatile.Read(ref slot.State) == TokenSlot.Free)
            return null;
        return slot;
    }

    /// <summary>Whether <paramref name="token"/> is one a synchronous wait may redeem: live (pending or completed) and not owned by an async waiter.</summary>
    public bool IsWaitable(ulong token) => Find(token) is { AsyncOwned: false };

    /// <summary>Records a completion made on shard <paramref name="shardId"/>. Returns false if the token is not pending.</summary>
    public bool Complete(in QResult result, int shardId)
    {
        var slot = Find(result.Qt);
        if (slot is null || Volatile.Read(ref slot.State) != TokenSlot.Pending)
            return false;
        slot.Result = result;
        if (slot.AsyncOwned)
        {
            slot.CompletedAt = Stopwatch.GetTimestamp();
            Volatile.Write(ref slot.State, TokenSlot.Completed);
            slot.SetResult(result);
            return true;
        }
        var shard = _shards[(uint)shardId < (uint)_shards.Length ? shardId : 0];
        slot.ShardId = shardId;
        slot.Sequence = Interlocked.Increment(ref shard.Sequence.Value);
        // Full fence: the state write must be visible before _trackOrder and the waiters are read, or a
        // completion racing a waiter's registration could be seen by neither side.
        Interlocked.Exchange(ref slot.State, TokenSlot.Completed);
        if (_trackOrder)
        {
            if (_trackingStarts)
            {
                // The first WaitNextN is queueing what completed before it: wait, so as to come after those.
                lock (_waitersGate)
                    shard.Order.Enqueue(new Completion(result.Qt, Stopwatch.GetTimestamp()));
            }
            else
            {
                shard.Order.Enqueue(new Completion(result.Qt, Stopwatch.GetTimestamp()));
            }
            if (shard.Order.Count > 2 * _slots.Length)
                Compact(shard);
        }
        Volatile.Read(ref slot.Waiter)?.Wake();
        var anyWaiters = Volatile.Read(ref _anyWaiters);
        for (int i = 0; i < anyWaiters.Length; i++)
            anyWaiters[i].Wake();
        return true;
    }

    /// <summary>
    /// Takes the result of a completed, synchronously-waited token. 0 and the result; EAGAIN if it
    /// is still pending; EINVAL if the token is unknown, consumed, or owned by an async waiter.
    /// </summary>
    public int TryConsume(ulong token, out QResult result)
    {
        result = default;
        var slot = Find(token);
        if (slot is null || slot.AsyncOwned)
            return Errno.EINVAL;
        int state = Interlocked.CompareExchange(ref slot.State, TokenSlot.Free, TokenSlot.Completed);
        if (state != TokenSlot.Completed)
            return state == TokenSlot.Pending ? Errno.EAGAIN : Errno.EINVAL;
        // The slot is ours alone now: read it, then retire the token and recycle the slot.
        if (slot.Generation != (uint)(token >> 32))
        {
            // A stale token whose slot was recycled meanwhile: give the completion back to its owner.
            Volatile.Write(ref slot.State, TokenSlot.Completed);
            return Errno.EINVAL;
        }
        result = slot.Result;
        Recycle(slot);
        return 0;
    }

    /// <summary>
    /// Registers <paramref name="waiter"/> to be woken when <paramref name="token"/> completes. The
    /// caller rechecks the token afterwards (the registration is a full fence), then parks.
    /// </summary>
    public void Watch(ulong token, TokenWaiter waiter)
    {
        var slot = Find(token);
        if (slot is not null)
            Interlocked.Exchange(ref slot.Waiter, waiter);
    }

    /// <summary>Undoes <see cref="Watch"/> (if the slot still names this waiter).</summary>
    public void Unwatch(ulong token, TokenWaiter waiter)
    {
        int index = (int)(uint)token - 1;
        if ((uint)index < (uint)_slots.Length && Volatile.Read(ref _slots[index]) is { } slot)
            Interlocked.CompareExchange(ref slot.Waiter, null, waiter);
    }

    /// <summary>Registers a WaitNextN waiter, woken by every completion until <see cref="UnwatchAny"/>.</summary>
    public void WatchAny(TokenWaiter waiter)
    {
        lock (_waitersGate)
            Volatile.Write(ref _anyWaiters, [.. _anyWaiters, waiter]);
        Interlocked.MemoryBarrier(); // pairs with the fence in Complete
    }

    public void UnwatchAny(TokenWaiter waiter)
    {
        lock (_waitersGate)
            Volatile.Write(ref _anyWaiters, _anyWaiters.Where(w => w != waiter).ToArray());
    }

    /// <summary>Takes the oldest completed, not yet consumed result (for WaitNextN); false if none.</summary>
    public bool TryConsumeNext(out QResult result)
    {
        if (!_trackOrder)
            StartTrackingOrder();
        while (true)
        {
            // Each shard's queue is in its completion order; across shards the oldest head goes first.
            ShardCompletions? oldest = null;
            long oldestStamp = long.MaxValue;
            foreach (var shard in _shards)
            {
                if (shard.Order.TryPeek(out var head) && (oldest is null || head.Stamp < oldestStamp))
                {
                    oldest = shard;
                    oldestStamp = head.Stamp;
                }
            }
            if (oldest is null)
            {
                result = default;
                return false;
            }
            if (oldest.Order.TryDequeue(out var next) && TryConsume(next.Token, out result) == 0)
                return true;
        }
    }

    // First WaitNextN: queue what already completed (oldest first per shard), then let Complete keep the queues.
    private void StartTrackingOrder()
    {
        lock (_waitersGate)
        {
            if (_trackOrder)
                return;
            _trackingStarts = true; // before _trackOrder: a completion that sees the one sees the other
            _trackOrder = true;
            Interlocked.MemoryBarrier(); // pairs with the fence in Complete
            var done = new List<(int Shard, long Sequence, ulong Token)>();
            foreach (var slot in _slots)
            {
                if (slot is not null && !slot.AsyncOwned && Volatile.Read(ref slot.State) == TokenSlot.Completed)
                    done.Add((slot.ShardId, slot.Sequence, slot.Token));
            }
            foreach (var (shard, _, token) in done.OrderBy(d => d.Sequence))
                _shards[(uint)shard < (uint)_shards.Length ? shard : 0].Order.Enqueue(new Completion(token, 0));
            // A completion both found here and queued by Complete appears twice; the second is skipped
            // by TryConsumeNext (its token is gone by then).
            _trackingStarts = false;
        }
    }

    /// <summary>Called by an async waiter after reading its result, and when a post fails (the slot is pending then).</summary>
    public void Release(TokenSlot slot)
    {
        int state = Volatile.Read(ref slot.State);
        // Only the slot's holder frees it: a reclaimed slot (already free, maybe reused) is left alone.
        if (state == TokenSlot.Free || Interlocked.CompareExchange(ref slot.State, TokenSlot.Free, state) != state)
            return;
        Recycle(slot);
    }

    // The table is full: free results nobody will collect (see the remarks). Returns how many.
    private int ReclaimAbandoned()
    {
        if (!Monitor.TryEnter(_reclaimGate))
            return 0; // another thread is reclaiming; its result will do
        try
        {
            long abandonedBefore = Stopwatch.GetTimestamp() - (long)(AbandonedAsyncAge.TotalSeconds * Stopwatch.Frequency);
            int reclaimed = 0;
            foreach (var slot in _slots)
            {
                if (slot is null || Volatile.Read(ref slot.State) != TokenSlot.Completed)
                    continue;
                bool abandoned = slot.AsyncOwned
                    ? !slot.Awaited && slot.CompletedAt < abandonedBefore
                    : slot.Result.Opcode == Opcode.Failed && slot.Result.Ret == Errno.ECANCELED;
                if (abandoned && Interlocked.CompareExchange(ref slot.State, TokenSlot.Free, TokenSlot.Completed) == TokenSlot.Completed)
                {
                    _onAbandoned?.Invoke(slot.Result);
                    Recycle(slot);
                    reclaimed++;
                }
            }
            return reclaimed;
        }
        finally
        {
            Monitor.Exit(_reclaimGate);
        }
    }

    private void Recycle(TokenSlot slot)
    {
        slot.Generation = slot.Generation == uint.MaxValue ? 1 : slot.Generation + 1;
        if (slot.AsyncOwned)
            slot.Reset(); // a late GetResult on the old version throws instead of reading a stranger's result
        slot.AsyncOwned = false;
        slot.Awaited = false;
        slot.Result = default;
        _free.Push(slot.Index);
    }

    // Tokens consumed by Wait stay in the completion-order queue until WaitNextN skips them; drop
    // them when the queue outgrows the table so an app that never calls WaitNextN leaks nothing.
    private void Compact(ShardCompletions shard)
    {
        lock (shard.CompactGate)
        {
            int count = shard.Order.Count;
            for (int i = 0; i < count && shard.Order.TryDequeue(out var entry); i++)
            {
                var slot = Find(entry.Token);
                if (slot is not null && !slot.AsyncOwned && Volatile.Read(ref slot.State) == TokenSlot.Completed)
                    shard.Order.Enqueue(entry);
            }
        }
    }

    private readonly record struct Completion(ulong Token, long Stamp);

    /// <summary>One shard's completion bookkeeping, written by that shard alone.</summary>
    private sealed class ShardCompletions
    {
        public readonly ConcurrentQueue<Completion> Order = new();
        public readonly object CompactGate = new();
        public PaddedCounter Sequence;
    }

    /// <summary>A counter on a cache line of its own (the 64 bytes before and after it hold nothing else).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 2 * CacheLine)]
    private struct PaddedCounter
    {
        private const int CacheLine = 64;

        [FieldOffset(CacheLine)]
        public long Value;
    }
}
