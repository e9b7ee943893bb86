namespace Demi.Internal;

/// <summary>
/// A lock-free LIFO of small integer indices (a Treiber stack over an int array, with an ABA tag in
/// the head word). Used for free lists shared by app and shard threads: no lock, no allocation.
/// </summary>
internal sealed class IndexStack
{
    public const int Empty = -1;

    private readonly int[] _next;
    // Low 32 bits: top index (or -1). High 32 bits: a tag bumped on every change.
    private long _head = Empty & 0xFFFFFFFFL;
    private int _count;

    /// <summary>A stack able to hold indices [0, capacity); filled with all of them when <paramref name="full"/>.</summary>
    public IndexStack(int capacity, bool full)
    {
        _next = new int[capacity];
        if (!full)
            return;
        for (int i = 0; i < capacity; i++)
            _next[i] = i + 1 < capacity ? i + 1 : Empty;
        _head = 0;
        _count = capacity;
    }

    public int Count => Volatile.Read(ref _count);

    public bool TryPop(out int index)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            int top = (int)head;
            if (top == Empty)
            {
                index = Empty;
                return false;
            }
            long newHead = ((head >> 32) + 1) << 32 | (uint)Volatile.Read(ref _next[top]);
            if (Interlocked.CompareExchange(ref _head, newHead, head) == head)
            {
                Interlocked.Decrement(ref _count);
                index = top;
                return true;
            }
        }
    }

    public void Push(int index)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            Volatile.Write(ref _next[index], (int)head);
            long newHead = ((head >> 32) + 1) << 32 | (uint)index;
            if (Interlocked.CompareExchange(ref _head, newHead, head) == head)
            {
                Interlocked.Increment(ref _count);
                return;
            }
        }
    }

    /// <summary>
    /// Pops up to <paramref name="into"/>.Length indices with one compare-and-swap (a shard's cache refill):
    /// the chain below the head is walked and then cut off. The head's tag changes on every push and pop,
    /// so an unchanged head proves that nobody touched the walked chain meanwhile.
    /// </summary>
    public int TryPopMany(Span<int> into)
    {
        while (true)
        {
            long head = Volatile.Read(ref _head);
            int top = (int)head;
            int n = 0;
            int next = top;
            while (n < into.Length && next != Empty)
            {
                into[n++] = next;
                next = Volatile.Read(ref _next[next]);
            }
            if (n == 0)
                return 0;
            long newHead = ((head >> 32) + 1) << 32 | (uint)next;
            if (Interlocked.CompareExchange(ref _head, newHead, head) == head)
            {
                Interlocked.Add(ref _count, -n);
                return n;
            }
        }
    }

    /// <summary>Pushes <paramref name="indices"/> with one compare-and-swap (a shard's cache spill); the first ends on top.</summary>
    public void PushMany(ReadOnlySpan<int> indices)
    {
        if (indices.IsEmpty)
            return;
        // Link them among themselves first: only the last one's link depends on the head.
        for (int i = 0; i < indices.Length - 1; i++)
            Volatile.Write(ref _next[indices[i]], indices[i + 1]);
        int last = indices[^1];
        while (true)
        {
            long head = Volatile.Read(ref _head);
            Volatile.Write(ref _next[last], (int)head);
            long newHead = ((head >> 32) + 1) << 32 | (uint)indices[0];
            if (Interlocked.CompareExchange(ref _head, newHead, head) == head)
            {
                Interlocked.Add(ref _count, indices.Length);
                return;
            }
        }
    }
}
