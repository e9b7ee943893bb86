using System.Threading.Channels;

namespace Demi.Runtime;

/// <summary>
/// A shard's inbox: a multi-producer channel for posts from other threads plus a plain queue for
/// posts the shard makes to itself (from completion handlers), both bounded by one capacity so that a
/// full mailbox is EAGAIN rather than a blocked caller. Only the shard thread takes messages.
/// </summary>
internal sealed class ShardMailbox
{
    private readonly int _capacity;
    // An unbounded channel never blocks a writer, but its TryWrite takes the channel's internal lock
    // (it is not lock-free); the counter below enforces the capacity, which the channel does not.
    private readonly ChannelReader<ShardMessage> _reader;
    private readonly ChannelWriter<ShardMessage> _writer;
    // Touched by the shard thread only.
    private readonly Queue<ShardMessage> _local = new();
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
    public int Count => Volatile.Read(ref _remoteCount) + _local.Count;

    /// <summary>True when a message is waiting (the shard checks this before it parks).</summary>
    public bool HasPending => Volatile.Read(ref _remoteCount) > 0 || _local.Count > 0;

    /// <summary>A post from the shard's own thread: no other thread is involved, so no channel and no shared counter.</summary>
    public bool TryPostLocal(in ShardMessage message)
    {
        if (_local.Count >= _capacity || _closed)
            return false;
        _local.Enqueue(message);
        return true;
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

    /// <summary>Takes the next message, the shard's own posts first (shard thread only).</summary>
    public bool TryTake(out ShardMessage message)
    {
        if (_local.Count > 0)
        {
            message = _local.Dequeue();
            return true;
        }
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
