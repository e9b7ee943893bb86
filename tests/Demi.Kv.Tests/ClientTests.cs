using System.Diagnostics;
using StackExchange.Redis;

namespace Demi.Kv.Tests;

/// <summary>Real clients nobody on the team wrote: redis-cli (Debian redis-tools) and StackExchange.Redis.</summary>
public sealed class ClientTests
{
    private const string RedisCli = "/usr/bin/redis-cli";

    private static string Cli(int port, params string[] args)
    {
        if (!File.Exists(RedisCli))
            throw new InvalidOperationException($"{RedisCli} is missing: run scripts/install-deps.sh (Debian redis-tools)");
        var psi = new ProcessStartInfo(RedisCli) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        psi.ArgumentList.Add("-p");
        psi.ArgumentList.Add(port.ToString());
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(10_000), "redis-cli finished");
        return output;
    }

    [Fact]
    public void RedisCliCommands()
    {
        using var host = new KvHost(shards: 2);
        int port = host.Port;
        Assert.Equal("PONG\n", Cli(port, "PING"));
        Assert.Equal("OK\n", Cli(port, "SET", "greeting", "hello world"));
        Assert.Equal("hello world\n", Cli(port, "GET", "greeting"));
        Assert.Equal("\"hello world\"\n", Cli(port, "--no-raw", "GET", "greeting"));
        Assert.Equal("(nil)\n", Cli(port, "--no-raw", "GET", "missing"));
        Assert.Equal("(integer) 1\n", Cli(port, "--no-raw", "INCR", "n"));
        Assert.Equal("(integer) 11\n", Cli(port, "--no-raw", "INCRBY", "n", "10"));
        Assert.Equal("OK\n", Cli(port, "MSET", "a", "1", "b", "2"));
        Assert.Equal("1) \"1\"\n2) \"2\"\n3) (nil)\n", Cli(port, "--no-raw", "MGET", "a", "b", "c"));
        Assert.Equal("(error) ERR value is not an integer or out of range\n", Cli(port, "--no-raw", "INCR", "greeting"));
        Assert.Equal("(error) ERR unknown command 'NOSUCH', with args beginning with: 'x' \n", Cli(port, "--no-raw", "NOSUCH", "x"));
        Assert.Equal("(error) ERR wrong number of arguments for 'get' command\n", Cli(port, "--no-raw", "GET"));
        Assert.Equal("(integer) 1\n", Cli(port, "--no-raw", "EXPIRE", "a", "100"));
        Assert.Equal("(integer) 100\n", Cli(port, "--no-raw", "TTL", "a"));
        Assert.Equal("(integer) 4\n", Cli(port, "--no-raw", "DBSIZE"));
        Assert.Equal("(integer) 2\n", Cli(port, "--no-raw", "DEL", "a", "b", "zz"));
        Assert.Equal("(integer) 2\n", Cli(port, "--no-raw", "DBSIZE"));
        // redis-cli -3 says HELLO 3 first; a RESP2 server answers NOPROTO, which redis-cli reports.
        Assert.Contains("NOPROTO", Cli(port, "-3", "PING"));
        Assert.Equal("OK\n", Cli(port, "FLUSHALL"));
        Assert.Equal("0\n", Cli(port, "DBSIZE"));
    }

    [Fact]
    public void RedisCliPipeMode()
    {
        using var host = new KvHost(shards: 2);
        // redis-cli --pipe writes a RESP stream as fast as it can, then an ECHO marker, and counts the replies.
        var psi = new ProcessStartInfo(RedisCli, $"-p {host.Port} --pipe") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        const int n = 5000;
        for (int i = 0; i < n; i++)
            p.StandardInput.BaseStream.Write(RawClient.Command("SET", $"pipe:{i}", $"{i}"));
        p.StandardInput.Close();
        var output = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(30_000));
        Assert.Contains($"errors: 0, replies: {n}", output);
        Assert.Equal(n, host.Server.KeyCount());
    }

    [Fact]
    public async Task StackExchangeRedis()
    {
        using var host = new KvHost(shards: 2);
        var options = new ConfigurationOptions
        {
            EndPoints = { { "127.0.0.1", host.Port } },
            AbortOnConnectFail = true,
            ConnectTimeout = 10_000,
            SyncTimeout = 10_000,
            AsyncTimeout = 10_000,
        };
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var db = mux.GetDatabase();
        Assert.True(await db.PingAsync() >= TimeSpan.Zero);
        Assert.Equal("PONG", (string?)await db.ExecuteAsync("PING"));
        Assert.True(await db.StringSetAsync("se:a", "alpha"));
        Assert.Equal("alpha", (string?)await db.StringGetAsync("se:a"));
        Assert.True((await db.StringGetAsync("se:missing")).IsNull);
        Assert.False(await db.StringSetAsync("se:a", "again", when: When.NotExists));
        Assert.True(await db.StringSetAsync("se:new", "x", when: When.NotExists));
        Assert.False(await db.StringSetAsync("se:none", "x", when: When.Exists));
        Assert.True(await db.StringSetAsync("se:ttl", "t", TimeSpan.FromSeconds(100)));
        var ttl = await db.KeyTimeToLiveAsync("se:ttl");
        Assert.InRange(ttl!.Value.TotalSeconds, 98, 100);
        Assert.Equal(1, await db.StringIncrementAsync("se:n"));
        Assert.Equal(11, await db.StringIncrementAsync("se:n", 10));
        Assert.Equal(8, await db.StringDecrementAsync("se:n", 3));
        Assert.True(await db.StringSetAsync([new("se:m1", "1"), new("se:m2", "2")]));
        var values = await db.StringGetAsync(["se:m1", "se:m2", "se:nope"]);
        Assert.Equal(["1", "2", null], values.Select(v => (string?)v));
        Assert.True(await db.KeyExistsAsync("se:m1"));
        Assert.Equal(2, await db.KeyDeleteAsync(["se:m1", "se:m2", "se:nope"]));
        Assert.True(await db.KeyExpireAsync("se:a", TimeSpan.FromSeconds(50)));
        await db.ListLeftPushAsync("se:list", "item");
        var wrongType = await Assert.ThrowsAsync<RedisServerException>(() => db.StringGetAsync("se:list"));
        Assert.StartsWith("WRONGTYPE", wrongType.Message);
        var notInteger = await Assert.ThrowsAsync<RedisServerException>(() => db.StringIncrementAsync("se:a"));
        Assert.Equal("ERR value is not an integer or out of range", notInteger.Message);

        // A pipelined batch: StackExchange.Redis writes it in one go; keys land on both shards.
        var batch = db.CreateBatch();
        var sets = Enumerable.Range(0, 500).Select(i => batch.StringSetAsync($"se:batch:{i}", i)).ToArray();
        var gets = Enumerable.Range(0, 500).Select(i => batch.StringGetAsync($"se:batch:{i}")).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        var got = await Task.WhenAll(gets);
        Assert.Equal(Enumerable.Range(0, 500), got.Select(v => (int)v));
        Assert.All(host.Server.KeysPerShard(), count => Assert.True(count > 100));

        // Many concurrent requests through one multiplexed connection (its own pipelining).
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 2000).Select(i => db.StringIncrementAsync("se:concurrent")));
        Assert.Equal(2000, concurrent.Max());
        Assert.Equal(2000, (long)await db.StringGetAsync("se:concurrent"));
    }
}
