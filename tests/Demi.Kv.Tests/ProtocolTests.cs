using System.Text;

namespace Demi.Kv.Tests;

/// <summary>Pipelining, frames cut anywhere, large values and the request limits.</summary>
public sealed class ProtocolTests
{
    [Fact]
    public void PipelinedBatchIsAnsweredInOrder()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        const int n = 2000;
        var batch = new List<byte>();
        for (int i = 0; i < n; i++)
        {
            batch.AddRange(RawClient.Command("SET", $"key:{i}", $"value-{i}"));
            batch.AddRange(RawClient.Command("GET", $"key:{i}"));
            batch.AddRange(RawClient.Command("INCR", "hits"));
        }
        c.Send(batch.ToArray()); // one write: the server sees many commands per pop and frames cut at pop ends
        for (int i = 0; i < n; i++)
        {
            Assert.Equal("+OK\r\n", c.ReadReply());
            string value = $"value-{i}";
            Assert.Equal($"${value.Length}\r\n{value}\r\n", c.ReadReply());
            Assert.Equal($":{i + 1}\r\n", c.ReadReply());
        }
        Assert.Equal($":{n + 1}\r\n", c.Call("DBSIZE"));
    }

    [Fact]
    public void CommandNamesMatchInAnyCaseAndOnlyExactly()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        Assert.Equal("+OK\r\n", c.Call("sEt", "k", "v"));
        Assert.Equal("$1\r\nv\r\n", c.Call("GeT", "k"));
        Assert.Equal("$1\r\nv\r\n", c.Call("get", "k"));
        Assert.Equal("+OK\r\n", c.Call("SET", "k", "w"));
        Assert.Equal("$1\r\nw\r\n", c.Call("GET", "k"));
        // Three-byte names one letter off GET or SET, and a '%' where the 'e' goes ('%' is 0x25, 'e' 0x65:
        // they differ in a bit other than the case bit), are not GET or SET.
        Assert.Equal("-ERR unknown command 'gEx', with args beginning with: 'k' \r\n", c.Call("gEx", "k"));
        Assert.Equal("-ERR unknown command 's%t', with args beginning with: 'k' \r\n", c.Call("s%t", "k"));
        Assert.Equal("-ERR unknown command 'se', with args beginning with: 'k' \r\n", c.Call("se", "k"));
        Assert.Equal(":1\r\n", c.Call("setnx", "k2", "v")); // longer names still take the table
    }

    [Fact]
    public void RequestSplitAcrossManySegments()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        var frame = RawClient.Command("SET", "split", new string('s', 300)).Concat(RawClient.Command("GET", "split")).ToArray();
        foreach (byte b in frame)
        {
            c.Send([b]); // NoDelay: one segment per byte
            Thread.Sleep(0);
        }
        Assert.Equal("+OK\r\n", c.ReadReply());
        Assert.Equal($"$300\r\n{new string('s', 300)}\r\n", c.ReadReply());
    }

    [Fact]
    public void TenMegabyteValueRoundTrips()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        var value = new byte[10 * 1024 * 1024];
        new Random(14).NextBytes(value);
        var header = Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${value.Length}\r\n");
        c.Send(header.Concat(value).Concat("\r\n"u8.ToArray()).ToArray());
        Assert.Equal("+OK\r\n", c.ReadReply());
        var reply = Encoding.Latin1.GetBytes(GetRaw(c, "big"));
        var expectedHeader = Encoding.ASCII.GetBytes($"${value.Length}\r\n");
        Assert.Equal(expectedHeader, reply[..expectedHeader.Length]);
        Assert.True(value.AsSpan().SequenceEqual(reply.AsSpan(expectedHeader.Length, value.Length)), "the value comes back byte for byte");
        Assert.Equal(":1\r\n", c.Call("DEL", "big"));
    }

    private static string GetRaw(RawClient c, string key)
    {
        c.Send(RawClient.Command("GET", key));
        // The reply is binary: read it as Latin-1 so that each byte stays one char.
        return c.ReadReplyLatin1();
    }

    [Fact]
    public void OversizedBulkLengthIsRejectedWithoutBuffering()
    {
        using var host = new KvHost(options: new KvServerOptions { MaxBulkLength = 1024 * 1024 });
        using var c = new RawClient(host.Port);
        Assert.Equal("+OK\r\n", c.Call("SET", "fits", new string('f', 1000)));
        c.Send($"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n${2 * 1024 * 1024}\r\n");
        Assert.Equal("-ERR Protocol error: invalid bulk length\r\n", c.ReadReply());
        Assert.True(c.ReadsEndOfStream());
        Assert.Equal(1, host.Server.ProtocolErrors);
    }

    [Fact]
    public void OversizedArrayIsRejected()
    {
        using var host = new KvHost(options: new KvServerOptions { MaxArrayLength = 16 });
        using var c = new RawClient(host.Port);
        var ok = RawClient.Command(["MSET", .. Enumerable.Range(0, 7).SelectMany(i => new[] { $"k{i}", "v" })]);
        c.Send(ok);
        Assert.Equal("+OK\r\n", c.ReadReply());
        c.Send("*17\r\n");
        Assert.Equal("-ERR Protocol error: invalid multibulk length\r\n", c.ReadReply());
        Assert.True(c.ReadsEndOfStream());
    }

    [Fact]
    public void OverlongInlineRequestIsRejected()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        c.Send(new string('a', 70 * 1024));
        Assert.Equal("-ERR Protocol error: too big inline request\r\n", c.ReadReply());
        Assert.True(c.ReadsEndOfStream());
    }

    [Fact]
    public void MemoryCapAnswersOom()
    {
        using var host = new KvHost(options: new KvServerOptions { MaxMemory = 256 * 1024 });
        using var c = new RawClient(host.Port);
        var value = new string('m', 10_000);
        int stored = 0;
        string reply;
        while ((reply = c.Call("SET", $"key{stored}", value)) == "+OK\r\n")
            stored++;
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.\r\n", reply);
        Assert.InRange(stored, 20, 26); // 256 KiB of 10 KB values
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.\r\n", c.Call("MSET", "x", value, "y", value));
        Assert.Equal("-OOM command not allowed when used memory > 'maxmemory'.\r\n", c.Call("LPUSH", "list", value));
        // Reads, deletes and overwrites that do not grow still work; freeing makes room again.
        Assert.Equal($"${value.Length}\r\n{value}\r\n", c.Call("GET", "key0"));
        Assert.Equal(":1\r\n", c.Call("DEL", "key0"));
        Assert.Equal("+OK\r\n", c.Call("SET", "key0", value));
        Assert.Equal("+OK\r\n", c.Call("FLUSHALL"));
        Assert.Equal("+OK\r\n", c.Call("SET", "after", value));
    }

    [Fact]
    public void MaxClientsAreTold()
    {
        using var host = new KvHost(options: new KvServerOptions { MaxClients = 2 });
        using var a = new RawClient(host.Port);
        using var b = new RawClient(host.Port);
        Assert.Equal("+PONG\r\n", a.Call("PING"));
        Assert.Equal("+PONG\r\n", b.Call("PING"));
        using var third = new RawClient(host.Port);
        Assert.Equal("-ERR max number of clients reached\r\n", third.ReadReply());
        Assert.True(third.ReadsEndOfStream());
        Assert.Equal(2, host.Server.ConnectedClients);
    }

    [Fact]
    public void IdleClientsAreDisconnected()
    {
        using var host = new KvHost(options: new KvServerOptions { IdleTimeout = TimeSpan.FromSeconds(1) });
        using var idle = new RawClient(host.Port);
        Assert.Equal("+PONG\r\n", idle.Call("PING"));
        // A half-sent request does not count as activity forever either (slowloris).
        idle.Send("*2\r\n$3\r\nGET\r\n$1");
        Assert.True(idle.ReadsEndOfStream(), "the idle client is closed");
        Assert.Equal(1, host.Server.IdleClosed);
        Assert.Equal(0, host.Server.ConnectedClients);
    }

    [Fact]
    public void SlowReaderDoesNotMakeTheServerBuffer()
    {
        const int pendingLimit = 1024 * 1024;
        using var host = new KvHost(options: new KvServerOptions { MaxPendingReplyBytes = pendingLimit });
        using var c = new RawClient(host.Port);
        c.Socket.ReceiveBufferSize = 64 * 1024;
        var value = new string('v', 256 * 1024);
        Assert.Equal("+OK\r\n", c.Call("SET", "v", value));
        // 400 GETs of 256 KiB = 100 MiB of replies that the client does not read.
        var gets = Enumerable.Range(0, 400).SelectMany(_ => RawClient.Command("GET", "v")).ToArray();
        var sender = new Thread(() => c.Send(gets));
        sender.Start();
        // Premise: the server has taken GETs and holds replies it cannot send (large buffers of 256 KiB:
        // the stored value and the pending replies), else the bound below would prove nothing.
        long inUse = 0;
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while ((inUse = host.LibOS.Buffers.LargeOutstanding) * 256L * 1024 < pendingLimit && waited.Elapsed < TimeSpan.FromSeconds(10))
            Thread.Sleep(10);
        Assert.True(inUse * 256L * 1024 >= pendingLimit, $"the server holds only {inUse} large buffers: it took no GETs");
        Thread.Sleep(1000); // more GETs arrive meanwhile; none may grow what the server holds past its limit
        inUse = host.LibOS.Buffers.LargeOutstanding;
        // Unsent replies stay near the limit (plus one reply in the making), not 100 MiB.
        Assert.InRange(inUse * 256L * 1024, 0, 4L * pendingLimit + 2 * value.Length);
        int read = 0;
        while (read < 400)
        {
            Assert.Equal(value.Length + 11, c.ReadReplyLatin1().Length);
            read++;
        }
        Assert.True(sender.Join(10_000));
    }
}
