namespace Demi.Kv.Tests;

/// <summary>Every command's replies and errors, byte for byte against redis-server 7.0 given the same requests.</summary>
public sealed class ParityTests
{
    /// <summary>Commands run in this order on both servers (after FLUSHALL); replies must be identical.</summary>
    private static readonly string[][] Script =
    [
        ["PING"], ["PING", "hello"], ["PING", "a", "b"], ["ping"],
        ["ECHO", "x"], ["ECHO"], ["ECHO", "x", "y"],
        ["GET", "k"], ["GET"], ["GET", "a", "b"],
        ["SET", "k"], ["SET", "k", "v"], ["GET", "k"], ["set", "k", "v2"], ["get", "k"],
        ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "-1"], ["SET", "k", "v", "EX", "abc"],
        ["SET", "k", "v", "PX", "0"], ["SET", "k", "v", "NX", "XX"], ["SET", "k", "v", "EX", "1", "PX", "1"], ["SET", "k", "v", "FOO"],
        ["SET", "k", "v", "EX", "9999999999999999"], ["SET", "k", "v", "KEEPTTL", "EX", "10"],
        ["SET", "k", "v3", "NX"], ["SET", "new", "v", "XX"], ["GET", "new"], ["SET", "new", "n1", "NX"], ["GET", "new"],
        ["SET", "k", "v4", "XX"], ["SET", "k", "v5", "GET"], ["SET", "nothere", "v", "GET"], ["GET", "k"],
        ["SET", "ttl", "v", "EX", "100"], ["TTL", "ttl"], ["SET", "ttl", "v2", "KEEPTTL"], ["TTL", "ttl"], ["SET", "ttl", "v3"], ["TTL", "ttl"],
        ["SET", "ttl", "v", "PX", "100000"], ["TTL", "ttl"],
        ["SETNX", "snx", "1"], ["SETNX", "snx", "2"], ["GET", "snx"], ["SETNX", "snx"], ["SETEX", "sex", "100", "v"], ["TTL", "sex"],
        ["SETEX", "sex", "0", "v"], ["SETEX", "sex", "x", "v"], ["PSETEX", "sex", "100000", "w"], ["GET", "sex"], ["PSETEX", "sex", "-5", "w"],
        ["INCR", "counter"], ["INCR", "counter"], ["DECR", "counter"], ["INCRBY", "counter", "10"], ["DECRBY", "counter", "3"],
        ["INCRBY", "counter", "-20"], ["GET", "counter"], ["INCR", "k"], ["INCRBY", "counter", "x"], ["INCRBY", "counter"], ["DECR"],
        ["INCR"], ["INCRBY", "counter", "1", "2"], ["SET", "max", "9223372036854775807"], ["INCR", "max"], ["SET", "min", "-9223372036854775808"],
        ["DECR", "min"], ["DECRBY", "max", "-1"], ["SET", "lead", "007"], ["INCR", "lead"], ["SET", "space", " 1"], ["INCR", "space"],
        ["INCRBY", "counter", "99999999999999999999"],
        ["LPUSH", "list", "a"], ["RPUSH", "list", "b", "c"], ["LLEN", "list"], ["LRANGE", "list", "0", "-1"], ["LRANGE", "list", "1", "1"],
        ["GET", "list"], ["INCR", "list"], ["SET", "list", "x", "GET"], ["LPUSH", "k", "a"], ["LLEN", "k"], ["TYPE", "list"], ["TYPE", "k"], ["TYPE", "nope"],
        ["LPOP", "list"], ["RPOP", "list"], ["LRANGE", "list", "0", "-1"], ["RPOP", "list"], ["EXISTS", "list"], ["LPOP", "nope"],
        ["LPUSH", "list", "z"],
        ["MGET", "k", "list", "nope", "counter"], ["MGET"], ["MSET", "a"], ["MSET", "a", "1", "b"], ["MSET", "a", "1", "b", "2"], ["MGET", "a", "b"],
        ["DEL"], ["EXISTS"], ["EXISTS", "a", "a", "zz"], ["DEL", "a", "b", "zz"], ["EXISTS", "a", "b"], ["UNLINK", "counter"],
        ["EXPIRE", "k"], ["EXPIRE", "k", "x"], ["EXPIRE", "zz", "100"], ["EXPIRE", "k", "100"], ["TTL", "k"], ["TTL", "zz"], ["TTL", "new"],
        ["EXPIRE", "k", "100", "NX"], ["EXPIRE", "k", "200", "XX"], ["TTL", "k"], ["EXPIRE", "k", "50", "GT"], ["EXPIRE", "k", "500", "GT"], ["TTL", "k"],
        ["EXPIRE", "k", "50", "LT"], ["TTL", "k"], ["EXPIRE", "new", "10", "XX"], ["EXPIRE", "new", "10", "GT"], ["EXPIRE", "new", "10", "LT"], ["TTL", "new"],
        ["EXPIRE", "k", "100", "FOO"], ["EXPIRE", "k", "100", "NX", "XX"], ["EXPIRE", "k", "100", "GT", "LT"], ["EXPIRE", "k", "9223372036854775807"],
        ["PEXPIRE", "k", "100000"], ["TTL", "k"], ["EXPIRE", "new", "-1"], ["GET", "new"], ["EXISTS", "new"],
        ["DBSIZE"], ["DBSIZE", "x"],
        ["FOO"], ["FOO", "bar"], ["foo", "bar", "baz"], ["FOO", "line\r\nbreak"],
        ["CONFIG"], ["CONFIG", "GET"], ["CONFIG", "GET", "save"], ["CONFIG", "GET", "appendonly"], ["CONFIG", "SET", "x"],
        ["CONFIG", "GET", "nonexistent-parameter"], ["CONFIG", "BOGUS"],
        ["HELLO", "4"], ["HELLO", "x"], ["SELECT", "0"], ["SELECT", "x"], ["CLIENT", "SETNAME", "me"], ["CLIENT", "BOGUS"],
        ["COMMAND", "BOGUS"], ["FLUSHALL", "x"], ["FLUSHALL"], ["DBSIZE"], ["GET", "k"],
        ["QUIT"],
    ];

    [Fact]
    public void RepliesMatchRedisServer()
    {
        using var redis = new RedisServerProcess();
        using var host = new KvHost();
        var expected = Run(redis.Port);
        var actual = Run(host.Port);
        for (int i = 0; i < Script.Length; i++)
            Assert.True(expected[i] == actual[i], $"{string.Join(' ', Script[i])}: redis-server said {Show(expected[i])}, demi-kv said {Show(actual[i])}");
    }

    private static string Show(string reply) => reply.Replace("\r\n", "\\r\\n");

    private static string[] Run(int port)
    {
        using var c = new RawClient(port);
        Assert.Equal("+OK\r\n", c.Call("FLUSHALL"));
        var replies = new string[Script.Length];
        for (int i = 0; i < Script.Length; i++)
            replies[i] = c.Call(Script[i]);
        Assert.True(c.ReadsEndOfStream(), "QUIT closes the connection");
        return replies;
    }

    /// <summary>Malformed frames: the same error text, then the connection is closed.</summary>
    [Theory]
    [InlineData("*2\r\n$3\r\nGET\r\n$-5\r\n")]
    [InlineData("*2\r\n$3\r\nGET\r\n$99999999999\r\n")]
    [InlineData("*2\r\nx3\r\nGET\r\n")]
    [InlineData("*abc\r\n")]
    [InlineData("*1\r\n$3x\r\nGET\r\n")]
    public void ProtocolErrorsMatchAndDisconnect(string frame)
    {
        using var redis = new RedisServerProcess();
        using var host = new KvHost();
        Assert.Equal(SendRaw(redis.Port, frame), SendRaw(host.Port, frame));
        Assert.Equal(1, host.Server.ProtocolErrors);
    }

    private static string SendRaw(int port, string frame)
    {
        using var c = new RawClient(port);
        c.Send(frame);
        var reply = c.ReadReply();
        Assert.True(c.ReadsEndOfStream(), "the server closes the connection after a protocol error");
        return reply;
    }

    /// <summary>Inline commands (telnet style) and skipped empty arrays, as redis-server takes them.</summary>
    [Fact]
    public void InlineAndEmptyFramesMatch()
    {
        using var redis = new RedisServerProcess();
        using var host = new KvHost();
        const string frames = "PING\r\nSET a  b\r\n*0\r\n*-1\r\nGET a\r\n\r\nECHO hi\n";
        Assert.Equal(Replies(redis.Port, frames, 4), Replies(host.Port, frames, 4));
    }

    private static string Replies(int port, string frames, int count)
    {
        using var c = new RawClient(port);
        c.Send(frames);
        var all = "";
        for (int i = 0; i < count; i++)
            all += c.ReadReply();
        return all;
    }
}
