namespace Demi.Async;

/// <summary>
/// Operations whose awaiter was cancelled while they were still pending on the shard, oldest first.
/// Their results are not lost: the next caller of the same operation takes the oldest, and whatever
/// is left when the owner is disposed is released (freed or closed).
/// </summary>
internal sealed class OrphanedOperations
{
    private readonly object _gate = new();
    private readonly List<Task<QResult>> _pending = new();
    private volatile int _count;
    private bool _closed;

    public int Count => _count;

    /// <summary>Queues a cancelled operation; false once closed (the caller releases it then).</summary>
    public bool TryAdd(Task<QResult> operation, bool oldest)
    {
        lock (_gate)
        {
            if (_closed)
                return false;
            if (oldest)
                _pending.Insert(0, operation);
            else
                _pending.Add(operation);
            _count = _pending.Count;
            return true;
        }
    }

    /// <summary>Takes the oldest abandoned operation, or null (without a lock when there is none).</summary>
    public Task<QResult>? TryTake()
    {
        if (_count == 0)
            return null;
        lock (_gate)
        {
            if (_pending.Count == 0)
                return null;
            var operation = _pending[0];
            _pending.RemoveAt(0);
            _count = _pending.Count;
            return operation;
        }
    }

    /// <summary>Refuses further operations and returns those left.</summary>
    public Task<QResult>[] Close()
    {
        lock (_gate)
        {
            _closed = true;
            var left = _pending.ToArray();
            _pending.Clear();
            _count = 0;
            return left;
        }
    }
}
