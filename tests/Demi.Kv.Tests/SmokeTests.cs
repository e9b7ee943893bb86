namespace Demi.Kv.Tests;

public sealed class SmokeTests
{
    [Fact]
    public void PingSetGet()
    {
        using var host = new KvHost();
        using var c = new RawClient(host.Port);
        Assert.Equal("+PONG\r\n", c.Call("PING"));
        Assert.Equal("+OK\r\n", c.Call("SET", "a", "hello"));
        Assert.Equal("$5\r\nhello\r\n", c.Call("GET", "a"));
    }
}
