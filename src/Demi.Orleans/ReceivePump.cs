using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Demi.Orleans;

/// <summary>
/// Moves a descriptor's pops from its shard into a bounded channel the grain reads on its own
/// scheduler. Runs on the shard thread (an Rx observer of the descriptor's completions) and never
/// runs grain code there: the channel queues the reader's continuation to the grain's scheduler.
/// When the grain falls behind, a datagram is dropped and counted; stream bytes are never dropped:
/// the pump stops popping (the kernel or stack then applies TCP flow control) until there is room.
/// </summary>
internal sealed class ReceivePump : IObserver<QResult>
{
    private readonly LibOS _libOS;
    private readonly int _qd;
    private readonly bool _stream;
    private readonly Channel<DemiDatagram> _channel;
    private readonly object _parkGate = new();
    private readonly Queue<DemiDatagram> _parked = new(); // stream only: popped while the channel was full
    private long _received;
    private long _dropped;
    private int _popsInFlight;

    public ReceivePump(LibOS libOS, int qd, bool stream, int capacity, int prefetch)
    {
        _libOS = libOS;
        _qd = qd;
        _stream = stream;
        Prefetch = Math.Max(1, prefetch);
        _channel = Channel.CreateBounded<DemiDatagram>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails instead of blocking: the shard decides
            AllowSynchronousContinuations = false,  // the grain's continuation never runs on the shard
        });
    }

    public int Prefetch { get; }

    /// <summary>Items delivered into the buffer.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Datagrams dropped because the grain's buffer was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public ChannelReader<DemiDatagram> Reader => _channel.Reader;

    public void Start(IObservable<QResult> completions)
    {
        completions.Subscribe(this);
        for (int i = 0; i < Prefetch; i++)
            PostPop();
    }

    private void PostPop()
    {
        Interlocked.Increment(ref _popsInFlight);
        if (_libOS.PostPop(_qd) != 0)
            Interlocked.Decrement(ref _popsInFlight); // closed or full: the stream's end or the next read retries
    }

    // Shard thread.
    public void OnNext(QResult result)
    {
        if (result.Opcode == Opcode.Push || result.Qt != 0)
        {
            // A push's (or a token-redeemed operation's) completion: not ours. Failed push buffers are freed by their pusher.
            return;
        }
        Interlocked.Decrement(ref _popsInFlight);
        if (result.Opcode == Opcode.Failed)
        {
            if (result.Error == Errno.ECANCELED)
                _channel.Writer.TryComplete();
            else
                _channel.Writer.TryComplete(new DemiException(result.Error, "receive", _qd, null));
            return;
        }
        if (result.Opcode != Opcode.Pop)
            return;
        var item = new DemiDatagram(_libOS, result.Sga);
        if (_stream && item.Length == 0)
        {
            item.Dispose();
            lock (_parkGate)
            {
                _endOfStream = true;
                if (_parked.Count == 0)
                    _channel.Writer.TryComplete();
            }
            return;
        }
        if (_stream)
        {
            lock (_parkGate)
            {
                if (_parked.Count > 0 || !_channel.Writer.TryWrite(item))
                {
                    _parked.Enqueue(item); // backpressure: no new pop until the grain makes room
                    return;
                }
            }
            Interlocked.Increment(ref _received);
            PostPop();
            return;
        }
        if (_channel.Writer.TryWrite(item))
            Interlocked.Increment(ref _received);
        else
        {
            item.Dispose();
            Interlocked.Increment(ref _dropped);
        }
        PostPop();
    }

    private bool _endOfStream;

    /// <summary>Called by the reader after it took an item: moves parked stream bytes in and resumes popping.</summary>
    public void OnConsumed()
    {
        if (!_stream)
            return;
        int resumed = 0;
        lock (_parkGate)
        {
            while (_parked.Count > 0 && _channel.Writer.TryWrite(_parked.Peek()))
            {
                _parked.Dequeue();
                Interlocked.Increment(ref _received);
                resumed++;
            }
            if (_parked.Count == 0 && _endOfStream)
                _channel.Writer.TryComplete();
        }
        for (int i = 0; i < resumed && !_endOfStream; i++)
            PostPop();
    }

    public void OnError(Exception error) => _channel.Writer.TryComplete(error);

    // The descriptor closed: no more pops will complete.
    public void OnCompleted() => _channel.Writer.TryComplete();

    public async IAsyncEnumerable<DemiDatagram> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync(cancellationToken))
        {
            while (reader.TryRead(out var item))
            {
                OnConsumed();
                yield return item;
            }
        }
    }

    /// <summary>Frees whatever is still buffered (after the descriptor closed).</summary>
    public void Discard()
    {
        _channel.Writer.TryComplete();
        while (_channel.Reader.TryRead(out var item))
            item.Dispose();
        lock (_parkGate)
        {
            while (_parked.TryDequeue(out var item))
                item.Dispose();
        }
        Debug.Assert(_parked.Count == 0);
    }
}
