using Demi.Internal;
using Demi.Runtime;

namespace Demi.Actors.Tests;

/// <summary>
/// Issue 10 item 4: the free lists of buffers and token slots are shard-local while a shard takes and frees its own
/// (that no index is handed out twice is ABufferIsNeverHandedOutTwiceAcrossShardsAndAppThreads, over the same list).
/// </summary>
public sealed class ShardCachedFreeListTests
{
    [Fact]
    public void IndicesTakenAndFreedOnAShardDoNotTouchTheSharedList()
    {
        var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        var list = new ShardCachedFreeList(4096);
        var sharedAfterFirstRefill = new int[2];
        var sharedAtEnd = new int[2];
        foreach (var shard in libOS.Shards)
        {
            shard.Invoke(() =>
            {
                Assert.True(list.TryPop(out int first));
                list.Push(first);
                sharedAfterFirstRefill[shard.Id] = list.SharedCount;
                var held = new int[8];
                for (int round = 0; round < 1000; round++)
                {
                    for (int i = 0; i < held.Length; i++)
                        Assert.True(list.TryPop(out held[i]));
                    foreach (int index in held)
                        list.Push(index);
                }
                sharedAtEnd[shard.Id] = list.SharedCount;
                return 0;
            });
        }
        // Each shard refilled its cache once (half of 32) and then never wrote the shared head again.
        Assert.Equal(4096 - ShardCachedFreeList.MaxCachedPerShard / 2, sharedAfterFirstRefill[0]);
        Assert.Equal(sharedAfterFirstRefill[0], sharedAtEnd[0]);
        Assert.Equal(4096 - ShardCachedFreeList.MaxCachedPerShard, sharedAtEnd[1]);
        Assert.Equal(4096, list.Count); // cached indices are still free
        libOS.Dispose(); // shards give their caches back as they stop
        Assert.Equal(4096, list.SharedCount);
    }
}
