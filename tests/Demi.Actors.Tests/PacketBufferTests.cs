using Demi.Buffers;

namespace Demi.Actors.Tests;

/// <summary>A packet buffer's window operations: the new-value forms match the in-place ones and check their bounds.</summary>
public sealed class PacketBufferTests : IDisposable
{
    private readonly BufferPool _pool = new(2048, 4, headroom: 128);

    public void Dispose() => _pool.Dispose();

    private PacketBuffer Rent(int length)
    {
        Assert.True(PacketBuffer.TryRent(_pool, out var buffer));
        var bytes = buffer.Append(length);
        for (int i = 0; i < bytes.Length; i++)
            bytes[i] = (byte)i;
        return buffer;
    }

    [Fact]
    public void Slice_is_the_inner_window_of_the_same_buffer_and_leaves_the_original_as_it_was()
    {
        var frame = Rent(100);
        var inner = frame.Slice(14, 60); // e.g. the IPv4 packet of an Ethernet frame, padding cut off
        Assert.Equal(frame.Index, inner.Index);
        Assert.Same(frame.Pool, inner.Pool);
        Assert.Equal(frame.Offset + 14, inner.Offset);
        Assert.Equal(60, inner.Length);
        Assert.Equal(14, inner.Span[0]);
        Assert.Equal(73, inner.Span[^1]);
        Assert.Equal(100, frame.Length); // not in place
        var trimmed = frame;
        trimmed.TrimFront(14);
        trimmed.Truncate(60);
        Assert.Equal(trimmed.Offset, inner.Offset);
        Assert.Equal(trimmed.Length, inner.Length);
        frame.Release();
    }

    [Theory]
    [InlineData(-1, 10)]
    [InlineData(101, 0)]
    [InlineData(0, 101)]
    [InlineData(50, 51)]
    [InlineData(10, -1)]
    public void Slice_outside_the_window_throws(int start, int length)
    {
        var frame = Rent(100);
        try
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => frame.Slice(start, length));
        }
        finally
        {
            frame.Release();
        }
    }

    [Fact]
    public void WithFront_grows_into_the_headroom_like_Prepend_and_leaves_the_original_as_it_was()
    {
        var payload = Rent(64);
        var datagram = payload.WithFront(8);
        Assert.Equal(payload.Offset - 8, datagram.Offset);
        Assert.Equal(72, datagram.Length);
        Assert.Equal(0, datagram.Span[8]); // the payload's first byte, after the new header room
        Assert.Equal(64, payload.Length);
        var prepended = payload;
        prepended.Prepend(8);
        Assert.Equal(prepended.Offset, datagram.Offset);
        Assert.Equal(prepended.Length, datagram.Length);
        Assert.Equal(0, payload.WithFront(payload.HeadroomLeft).Offset);
        Assert.ThrowsAny<InvalidOperationException>(() => payload.WithFront(payload.HeadroomLeft + 1));
        payload.Release();
    }
}
