using System.Net.Sockets;
using Xunit.Abstractions;

namespace Demi.Kv.Tests;

/// <summary>Steady state allocates no managed memory per request on the shard threads (parse in place, pooled reply buffers).</summary>
public sealed class AllocationTests(ITestOutputHelper output)
{
    private const int Pipeline = 16;

    [Theory]
    [InlineData(1)]
    [InlineData(2)] // half the keys on the other shard: the cross-shard message path too
    public void NoManagedAllocationPerRequestAfterWarmUp(int shards)
    {
        using var host = new KvHost(shards);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect("127.0.0.1", host.Port);
        // A batch like redis-benchmark -P 16 sends: SETs and GETs of 3-byte values over a few keys.
        var batch = new List<byte>();
        for (int i = 0; i < Pipeline / 2; i++)
        {
            batch.AddRange(RawClient.Command("SET", $"key:{i:D12}", "xxx"));
            batch.AddRange(RawClient.Command("GET", $"key:{i:D12}"));
        }
        var request = batch.ToArray();
        int replyBytes = Pipeline / 2 * ("+OK\r\n".Length + "$3\r\nxxx\r\n".Length);
        var reply = new byte[replyBytes];

        void RunBatches(int count)
        {
            for (int b = 0; b < count; b++)
            {
                socket.Send(request);
                int got = 0;
                while (got < replyBytes)
                {
                    int n = socket.Receive(reply, got, replyBytes - got, SocketFlags.None);
                    Assert.NotEqual(0, n);
                    got += n;
                }
            }
        }

        // Cross-shard steps wait on the other shard's wake-up: fewer batches keep that case quick.
        int batches = shards == 1 ? 3000 : 800;
        RunBatches(batches / 2); // warm-up: pools, queues and tables at their high-water marks, tiered JIT settled
        long[] before = ShardAllocations(host);
        RunBatches(batches);
        long[] after = ShardAllocations(host);
        long allocated = after.Zip(before, (a, b) => a - b).Sum();
        double perRequest = (double)allocated / (batches * Pipeline);
        output.WriteLine($"{shards} shard(s): {allocated} bytes on the shard threads over {batches * Pipeline} requests = {perRequest:F4} B/request");
        Assert.Equal("$3\r\nxxx\r\n", System.Text.Encoding.ASCII.GetString(reply, 5, 9));
        // Reading the counter through a shard call costs a few hundred bytes once; per request it must be nothing.
        Assert.True(perRequest < 0.05, $"{allocated} bytes allocated on the shard threads over {batches * Pipeline} requests ({perRequest:F4} B/request)");
    }

    private static long[] ShardAllocations(KvHost host)
    {
        var result = new long[host.LibOS.Shards.Count];
        for (int i = 0; i < result.Length; i++)
        {
            int index = i;
            host.LibOS.Shards[i].Invoke(() =>
            {
                result[index] = GC.GetAllocatedBytesForCurrentThread();
                return 0;
            });
        }
        return result;
    }
}
