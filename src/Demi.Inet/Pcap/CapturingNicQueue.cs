using Demi.Buffers;
using Demi.Inet.Nic;

namespace Demi.Inet.Pcap;

/// <summary>
/// A NIC queue decorator that writes every frame received from, and offered for transmission to,
/// the inner queue to a <see cref="PcapWriter"/> (transmitted frames are captured as offered, before the inner queue takes them).
/// </summary>
public sealed class CapturingNicQueue : INicQueue
{
    private readonly INicQueue _inner;
    private readonly PcapWriter _writer;
    private readonly bool _ownsInner;
    private long _flushedFrames;

    /// <summary>Wraps <paramref name="inner"/>; the writer becomes this queue's (disposed with it).</summary>
    public CapturingNicQueue(INicQueue inner, PcapWriter writer, bool ownsInner)
    {
        _inner = inner;
        _writer = writer;
        _ownsInner = ownsInner;
    }

    /// <summary>The capture file writer.</summary>
    public PcapWriter Writer => _writer;

    public MacAddress MacAddress => _inner.MacAddress;

    public int Mtu => _inner.Mtu;

    public NicOffloads Offloads => _inner.Offloads;

    public BufferPool Pool => _inner.Pool;

    public int WaitFd => _inner.WaitFd;

    public int Receive(Span<PacketBuffer> frames)
    {
        int n = _inner.Receive(frames);
        if (n > 0)
        {
            var now = DateTime.UtcNow;
            for (int i = 0; i < n; i++)
                _writer.Write(frames[i].Span, now);
        }
        return n;
    }

    public int Transmit(ReadOnlySpan<PacketBuffer> frames)
    {
        // Capture before handing over: once taken, a frame may be released by the inner queue.
        var now = DateTime.UtcNow;
        for (int i = 0; i < frames.Length; i++)
            _writer.Write(frames[i].Span, now);
        return _inner.Transmit(frames);
    }

    public void Flush()
    {
        _inner.Flush();
        // Push records to the file once per shard loop that captured something (not per frame).
        if (_writer.Frames != _flushedFrames)
        {
            _writer.Flush();
            _flushedFrames = _writer.Frames;
        }
    }

    public void Dispose()
    {
        _writer.Dispose();
        if (_ownsInner)
            _inner.Dispose();
    }
}
