using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>Issue 16 item 5: a buffer never carries another owner's bytes and a stale handle never frees another owner's buffer.</summary>
public sealed class BufferSafetyTests
{
    [Fact]
    public void AStaleSgaFreeIsEinvalAndLeavesTheNewOwnersBuffer()
    {
        using var libOS = new LibOS();
        var first = libOS.SgaAlloc(64);
        var stale = first;
        Assert.Equal(0, libOS.SgaFree(first));
        var second = libOS.SgaAlloc(64);
        Assert.Equal(first.Segment.Buffer, second.Segment.Buffer); // the pool handed the same buffer out again
        Assert.Equal(Errno.EINVAL, libOS.SgaFree(stale));
        Assert.Equal(1, libOS.Buffers.Pool.RefCount(libOS.Buffers.Pool.IndexOf(second.Handle)));
        Assert.Equal(0, libOS.SgaFree(second));
    }

    [Theory]
    [InlineData(2048, 64)]
    [InlineData(2176, 97)] // a DPDK mbuf's element size: not a power of two
    [InlineData(4095, 33)]
    public void IndexOfFindsTheBufferOfEveryAddressInsideIt(int bufferSize, int count)
    {
        using var pool = new Demi.Buffers.BufferPool(bufferSize, count, headroom: 0);
        for (int i = 0; i < count; i++)
        {
            foreach (int offset in new[] { 0, 1, bufferSize / 2, bufferSize - 1 })
                Assert.Equal(i, pool.IndexOf(pool.BaseAddress + (nint)i * bufferSize + offset));
        }
        Assert.Equal(-1, pool.IndexOf(pool.BaseAddress + (nint)count * bufferSize)); // just past the region
    }

    [Fact]
    public void AHandleFromEveryEarlierRentOfABufferIsStaleUntilTheGenerationWraps()
    {
        const int bufferSize = 64;
        using var pool = new Demi.Buffers.BufferPool(bufferSize, 1, headroom: 0);
        var handles = new List<nint>();
        for (int rent = 0; rent < bufferSize; rent++)
        {
            Assert.True(pool.TryRent(out int index));
            nint handle = pool.HandleOf(index);
            Assert.Equal(0, pool.IndexOf(handle)); // a handle stays inside its buffer
            Assert.DoesNotContain(handle, handles);
            handles.Add(handle);
            Assert.True(pool.Release(index));
        }
        // The 65th rent reuses the first rent's handle: the generation counts modulo the buffer size.
        Assert.True(pool.TryRent(out int again));
        Assert.Equal(handles[0], pool.HandleOf(again));
    }

    [Fact]
    public void AStaleLargeSgaFreeIsEinval()
    {
        using var libOS = new LibOS();
        var first = libOS.SgaAlloc(100_000);
        var stale = first;
        Assert.Equal(0, libOS.SgaFree(first));
        var second = libOS.SgaAlloc(100_000);
        Assert.Equal(Errno.EINVAL, libOS.SgaFree(stale));
        Assert.Equal(0, libOS.SgaFree(second));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(100_000)]
    public void SgaAllocHandsOutZeroedBytes(int size)
    {
        using var libOS = new LibOS();
        var dirty = libOS.SgaAlloc(size);
        dirty.Span.Fill(0xAB);
        Assert.Equal(0, libOS.SgaFree(dirty));
        var clean = libOS.SgaAlloc(size);
        Assert.True(clean.Span.IndexOfAnyExcept((byte)0) < 0, "SgaAlloc returned an earlier owner's bytes");
        Assert.Equal(0, libOS.SgaFree(clean));
    }

    [Fact]
    public void SgaAllocUninitializedSkipsTheZeroing()
    {
        using var libOS = new LibOS();
        var dirty = libOS.SgaAlloc(64);
        dirty.Span.Fill(0xAB);
        Assert.Equal(0, libOS.SgaFree(dirty));
        var raw = libOS.SgaAllocUninitialized(64);
        Assert.Equal(64, raw.Length);
        Assert.Equal(0xAB, raw.Span[0]); // the same pool buffer, not cleared: the hot-path contract
        Assert.Equal(0, libOS.SgaFree(raw));
        Assert.False(libOS.SgaAllocUninitialized(0).IsAllocated);
    }

    [Fact]
    public void SpanAfterTheLibOSIsDisposedThrowsObjectDisposed()
    {
        var libOS = new LibOS();
        var sga = libOS.SgaAlloc(64);
        Assert.Equal(64, sga.Span.Length);
        libOS.Dispose();
        Assert.Throws<ObjectDisposedException>(() => sga.Span.Length);
    }

    [Fact]
    public void APushWhoseActorThrowsFailsWithEioAndReleasesItsBuffer()
    {
        using var libOS = new LibOS();
        var actor = new ThrowingActor(libOS.Shards[0]);
        Assert.Equal(0, libOS.Register(actor, out int qd));
        var sga = TestUtil.Alloc(libOS, "boom");
        int index = libOS.Buffers.Pool.IndexOf(sga.Handle);
        Assert.Equal(0, libOS.Push(out ulong qt, qd, sga));
        Assert.Equal(0, libOS.Wait(out var result, qt, TestUtil.Timeout));
        Assert.Equal(Opcode.Failed, result.Opcode);
        Assert.Equal(Errno.EIO, result.Ret);
        Assert.Equal(1, libOS.Buffers.Pool.RefCount(index)); // only the app's own reference is left
        Assert.Equal(0, libOS.SgaFree(sga));
        Assert.Equal(0, libOS.Buffers.Pool.RefCount(index));
        Assert.True(libOS.ShardFaults >= 1);
    }

    private sealed class ThrowingActor(Shard shard) : QueueActor(shard)
    {
        protected internal override void OnPush(in PushRequest request) => throw new InvalidOperationException("actor bug");

        protected internal override void OnPop(ulong qt) => Fail(qt, Errno.ENOTSUP);

        protected internal override void OnClose()
        {
        }
    }
}
