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
}
