using System.Collections.Concurrent;

namespace Demi.Internal;

/// <summary>
/// Queue tokens: a fixed table of reusable slots. A token is (generation &lt;&lt; 32 | slot+1), so a
/// consumed or unknown token never matches a live slot (EINVAL), and the table being full is EAGAIN.
/// </summary>
internal sealed class TokenTable
{
    private readonly TokenSlot?[] _slots;
    private readonly IndexStack _free;
    private readonly ConcurrentQueue<ulong> _completionOrder = new();
    private readonly object _compactLock = new();
    private long _sequence;
    // WaitNextN needs completions in order; the queue is only kept once somebody has called it, so
    // apps that redeem tokens with Wait never pay for it.
    private volatile bool _trackOrder;

    public TokenTable(int capacity)
    {
        _slots = new TokenSlot?[capacity];
        _free = new IndexStack(capacity, full: true);
    }

    public int Capacity => _slots.Length;

    public int InUse => _slots.Length - _free.Count;

    /// <summary>Takes a slot for a new operation; false when every token is in flight.</summary>
    public bool TryAllocate(bool asyncOwned, out TokenSlot slot)
    {
        if (!_free.TryPop(out int index))
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

    /// <summary>Records a completion. Returns false if the token is not pending.</summary>
    public bool Complete(in QResult result)
    {
        var slot = Find(result.Qt);
        if (slot is null || Volatile.Read(ref slot.State) != TokenSlot.Pending)
            return false;
        slot.Result = result;
        if (slot.AsyncOwned)
        {
            Volatile.Write(ref slot.State, TokenSlot.Completed);
            slot.SetResult(result);
            return true;
        }
        slot.Sequence = Interlocked.Increment(ref _sequence);
        // Full fence: the state write must be visible before _trackOrder is read, or a completion racing
        // the first WaitNextN could be neither scanned by it nor queued here.
        Interlocked.Exchange(ref slot.State, TokenSlot.Completed);
        if (_trackOrder)
        {
            _completionOrder.Enqueue(result.Qt);
            if (_completionOrder.Count > 2 * _slots.Length)
                Compact();
        }
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

    /// <summary>Takes the oldest completed, not yet consumed result (for WaitNextN); false if none.</summary>
    public bool TryConsumeNext(out QResult result)
    {
        if (!_trackOrder)
            StartTrackingOrder();
        while (_completionOrder.TryDequeue(out var token))
        {
            if (TryConsume(token, out result) == 0)
                return true;
        }
        result = default;
        return false;
    }

    // First WaitNextN: queue what already completed (oldest first), then let Complete keep the queue.
    private void StartTrackingOrder()
    {
        lock (_compactLock)
        {
            if (_trackOrder)
                return;
            _trackOrder = true;
            Interlocked.MemoryBarrier(); // pairs with the fence in Complete
            var done = new List<(long Sequence, ulong Token)>();
            foreach (var slot in _slots)
            {
                if (slot is not null && !slot.AsyncOwned && Volatile.Read(ref slot.State) == TokenSlot.Completed)
                    done.Add((slot.Sequence, slot.Token));
            }
            foreach (var (_, token) in done.OrderBy(d => d.Sequence))
                _completionOrder.Enqueue(token);
        }
    }

    /// <summary>Called by an async waiter after reading its result.</summary>
    public void Release(TokenSlot slot)
    {
        Volatile.Write(ref slot.State, TokenSlot.Free);
        Recycle(slot);
    }

    private void Recycle(TokenSlot slot)
    {
        slot.Generation = slot.Generation == uint.MaxValue ? 1 : slot.Generation + 1;
        slot.AsyncOwned = false;
        slot.Result = default;
        _free.Push(slot.Index);
    }

    // Tokens consumed by Wait stay in the completion-order queue until WaitNextN skips them; drop
    // them when the queue outgrows the table so an app that never calls WaitNextN leaks nothing.
    private void Compact()
    {
        lock (_compactLock)
        {
            int count = _completionOrder.Count;
            for (int i = 0; i < count && _completionOrder.TryDequeue(out var token); i++)
            {
                var slot = Find(token);
                if (slot is not null && !slot.AsyncOwned && Volatile.Read(ref slot.State) == TokenSlot.Completed)
                    _completionOrder.Enqueue(token);
            }
        }
    }
}
