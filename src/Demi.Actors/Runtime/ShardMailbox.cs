using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Demi.Runtime;

/// <summary>
/// A shard's inbox: a multi-producer channel for posts from other threads plus a ring for posts the
/// shard makes to itself (from completion handlers), both bounded by one capacity so that a
/// full mailbox is EAGAIN rather than a blocked caller. Only the shard thread takes messages.
/// </summary>
internal sealed class ShardMailbox
{
    private readonly int _capacity;
    // An unbounded channel never blocks a writer, but its TryWrite takes the channel's internal lock
    // (it is not lock-free); the counter below enforces the capacity, which the channel does not.
    private readonly ChannelReader<ShardMessage> _reader;
    private readonly ChannelWriter<ShardMessage> _writer;
    // The shard's own posts, a ring touched by the shard thread only. Messages are written into their
    // slot and dispatched from it (PeekLocal/RemoveLocal): a message is ~100 bytes, and copying one that
    // was just written field by field stalls on store-to-load forwarding (Queue<T>'s Enqueue and Dequeue
    // copied each one three times).
    private ShardMessage[] _local = new ShardMessage[InitialLocalSlots];
    private int _localHead;
    private int _localCount;
    private const int InitialLocalSlots = 64;
    private int _remoteCount;
    private volatile bool _closed;

    public ShardMailbox(int capacity)
    {
        _capacity = capacity;
        var channel = Channel.CreateUnbounded<ShardMessage>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
        _reader = channel.Reader;
        _writer = channel.Writer;
    }

    /// <summary>Messages waiting, for gauges: read from any thread, so possibly a little stale.</summary>
    public int Count => Volatile.Read(ref _remoteCount) + Volatile.Read(ref _localCount);

    /// <summary>True when a message is waiting (the shard checks this before it parks).</summary>
    public bool HasPending => Volatile.Read(ref _remoteCount) > 0 || _localCount > 0;

    /// <summary>A post from the shard's own thread: no other thread is involved, so no channel and no shared counter.</summary>
    public bool TryPostLocal(in ShardMessage message)
    {
        ref var slot = ref TryReserveLocal(out bool reserved);
        if (!reserved)
            return false;
        slot = message;
        return true;
    }

    /// <summary>
    /// Reserves the next local slot, empty, for the caller to fill in place before it does anything else on
    /// the shard (shard thread only); <paramref name="reserved"/> is false, and the reference null, when
    /// the mailbox is full or closed.
    /// </summary>
    public ref ShardMessage TryReserveLocal(out bool reserved)
    {
        if (_localCount >= _capacity || _closed)
        {
            reserved = false;
            return ref Unsafe.NullRef<ShardMessage>();
        }
        if (_localCount == _local.Length)
            GrowLocal();
        reserved = true;
        int index = (_localHead + _localCount) & (_local.Length - 1);
        _localCount++;
        return ref _local[index];
    }

    /// <summary>True when the shard posted to itself and that message was not removed yet (shard thread only).</summary>
    public bool HasLocal => _localCount > 0;

    /// <summary>
    /// The oldest local message, in its slot (shard thread only; <see cref="HasLocal"/> first). It stays
    /// queued while it is served, so a post made meanwhile never takes its slot; a post that grows the
    /// ring copies it along and leaves the old slot as it was, so the reference stays readable.
    /// </summary>
    public ref ShardMessage PeekLocal()
    {
        Debug.Assert(_localCount > 0);
        return ref _local[_localHead];
    }

    /// <summary>Removes the message <see cref="PeekLocal"/> returned, once it was served.</summary>
    public void RemoveLocal()
    {
        Debug.Assert(_localCount > 0);
        _local[_localHead] = default; // no stale actor or buffer kept alive by the ring
        _localHead = (_localHead + 1) & (_local.Length - 1);
        _localCount--;
    }

    private void GrowLocal()
    {
        var grown = new ShardMessage[_local.Length * 2];
        for (int i = 0; i < _localCount; i++)
            grown[i] = _local[(_localHead + i) & (_local.Length - 1)];
        _local = grown;
        _localHead = 0;
    }

    /// <summary>A post from any other thread; the caller wakes the shard after a successful post.</summary>
    public bool TryPostRemote(in ShardMessage message)
    {
        if (Interlocked.Increment(ref _remoteCount) > _capacity || _closed || !_writer.TryWrite(message))
        {
            Interlocked.Decrement(ref _remoteCount);
            return false;
        }
        return true;
    }

    /// <summary>Takes the next message posted from another thread (shard thread only; the shard serves its own posts first, through <see cref="PeekLocal"/>).</summary>
    public bool TryTakeRemote(out ShardMessage message)
    {
        // A poster counts its message before writing it: at 0 there is nothing to read, and the
        // channel (whose state other cores write) is not touched in the shard's every round.
        if (Volatile.Read(ref _remoteCount) > 0 && _reader.TryRead(out message))
        {
            Interlocked.Decrement(ref _remoteCount);
            return true;
        }
        message = default;
        return false;
    }

    /// <summary>Refuses further posts (the shard is stopping).</summary>
    public void Close() => _closed = true;

    /// <summary>After <see cref="Close"/>: no write can land after this, so one more drain serves everything.</summary>
    public void Seal() => _writer.TryComplete();
}
