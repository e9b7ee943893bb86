using System.Net.Sockets;
using System.Text;

namespace Demi.Kv.Tests;

/// <summary>Keys spread over two shards: every command gives the same answers whichever shard holds the key.</summary>
public sealed class ShardTests
{
    [Fact]
    public void KeysSpreadOverTwoShardsWithCrossShardCommands()
    {
        using var host = new KvHost(shards: 2);
        using var c = new RawClient(host.Port);
        const int n = 400;
        for (int i = 0; i < n; i++)
            Assert.Equal("+OK\r\n", c.Call("SET", $"key:{i}", $"v{i}"));
        var perShard = host.Server.KeysPerShard();
        Assert.Equal(2, perShard.Length);
        Assert.Equal(n, perShard.Sum());
        // Both shards own a fair part: the connection lives on one, so about half of the SETs crossed over.
        Assert.All(perShard, count => Assert.InRange(count, n / 4, 3 * n / 4));
        for (int i = 0; i < n; i++)
            Assert.Equal($"$" + $"v{i}".Length + $"\r\nv{i}\r\n", c.Call("GET", $"key:{i}"));
        Assert.Equal($":{n}\r\n", c.Call("DBSIZE"));

        // Multi-key commands fan out over both shards and keep argument order.
        var keys = Enumerable.Range(0, 20).Select(i => $"key:{i}").ToArray();
        var mget = c.Call(["MGET", .. keys, "missing"]);
        var expected = new StringBuilder($"*{keys.Length + 1}\r\n");
        foreach (var k in keys)
            expected.Append($"${k.Length - 3}\r\nv{k[4..]}\r\n");
        expected.Append("$-1\r\n");
        Assert.Equal(expected.ToString(), mget);
        Assert.Equal("+OK\r\n", c.Call(["MSET", .. keys.SelectMany(k => new[] { k, "new-" + k })]));
        Assert.Equal("$9\r\nnew-key:7\r\n", c.Call("GET", "key:7"));
        Assert.Equal($":{keys.Length}\r\n", c.Call(["EXISTS", .. keys]));
        Assert.Equal($":{keys.Length}\r\n", c.Call(["DEL", .. keys, "missing"]));
        Assert.Equal($":{n - keys.Length}\r\n", c.Call("DBSIZE"));
        for (int round = 1; round <= 5; round++)
        {
            for (int i = 0; i < 10; i++)
                Assert.Equal($":{round * (i + 1)}\r\n", c.Call("INCRBY", $"counter:{i}", (i + 1).ToString()));
        }
        Assert.Equal("+OK\r\n", c.Call("SET", "ttl:key", "v", "EX", "100"));
        Assert.Equal(":100\r\n", c.Call("TTL", "ttl:key"));
        Assert.Equal("+OK\r\n", c.Call("FLUSHALL"));
        Assert.Equal(":0\r\n", c.Call("DBSIZE"));
        Assert.Equal([0, 0], host.Server.KeysPerShard());
    }

    [Fact]
    public void PipelinedCrossShardRepliesKeepTheirOrder()
    {
        using var host = new KvHost(shards: 2);
        using var c = new RawClient(host.Port);
        const int n = 1000;
        var batch = new List<byte>();
        for (int i = 0; i < n; i++)
        {
            batch.AddRange(RawClient.Command("SET", $"p:{i}", i.ToString()));
            batch.AddRange(RawClient.Command("GET", $"p:{i}"));
            batch.AddRange(RawClient.Command("PING"));
        }
        c.Send(batch.ToArray());
        for (int i = 0; i < n; i++)
        {
            Assert.Equal("+OK\r\n", c.ReadReply());
            Assert.Equal($"${i.ToString().Length}\r\n{i}\r\n", c.ReadReply());
            Assert.Equal("+PONG\r\n", c.ReadReply());
        }
    }

    [Fact]
    public void ClientClosingWhileACrossShardStepIsOutLosesNothing()
    {
        using var host = new KvHost(shards: 2);
        for (int round = 0; round < 50; round++)
        {
            using var c = new RawClient(host.Port);
            var keys = Enumerable.Range(0, 50).Select(i => $"r{round}:{i}").ToArray();
            c.Send(RawClient.Command(["MSET", .. keys.SelectMany(k => new[] { k, "x" })]));
            c.Socket.Close(); // gone before (or while) the steps run on the other shard
        }
        using var check = new RawClient(host.Port);
        Assert.Equal("+PONG\r\n", check.Call("PING"));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (host.Server.ConnectedClients > 1 && DateTime.UtcNow < deadline)
            Thread.Sleep(10);
        Assert.Equal(1, host.Server.ConnectedClients);
    }
}

/// <summary>Many clients at once.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task ThousandConcurrentClients()
    {
        using var host = new KvHost(shards: 2);
        const int clients = 1000;
        var sockets = new Socket[clients];
        for (int i = 0; i < clients; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await sockets[i].ConnectAsync("127.0.0.1", host.Port);
        }
        try
        {
            // All connected at once, then each does SET, GET, INCR of a shared counter concurrently.
            var tasks = sockets.Select((s, i) => Task.Run(async () =>
            {
                var request = RawClient.Command("SET", $"client:{i}", $"value:{i}")
                    .Concat(RawClient.Command("GET", $"client:{i}"))
                    .Concat(RawClient.Command("INCR", "connections")).ToArray();
                await s.SendAsync(request);
                var expected = $"+OK\r\n${$"value:{i}".Length}\r\nvalue:{i}\r\n:";
                var received = new List<byte>();
                var buffer = new byte[256];
                while (!(received.Count > expected.Length && received[^1] == '\n'))
                {
                    int n = await s.ReceiveAsync(buffer);
                    Assert.NotEqual(0, n);
                    received.AddRange(buffer.AsSpan(0, n));
                }
                Assert.StartsWith(expected, Encoding.ASCII.GetString(received.ToArray()));
            })).ToArray();
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(clients, host.Server.ConnectedClients);
            using var c = new RawClient(host.Port);
            Assert.Equal($"${clients.ToString().Length}\r\n{clients}\r\n", c.Call("GET", "connections"));
            Assert.Equal($":{clients + 1}\r\n", c.Call("DBSIZE"));
        }
        finally
        {
            foreach (var s in sockets)
                s.Dispose();
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (host.Server.ConnectedClients > 0 && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        Assert.Equal(0, host.Server.ConnectedClients);
    }
}
