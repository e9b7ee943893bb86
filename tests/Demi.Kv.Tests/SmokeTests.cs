using Demi.Runtime;

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

    /// <summary>The example of src/Demi.Kv/README.md, as printed there.</summary>
    [Fact]
    public void ReadmeExample()
    {
        using var libOS = new LibOS(new LibOSOptions { ShardCount = 2 });
        using var server = new KvServer(libOS, new KvServerOptions { Bind = new Ipv4Endpoint(Ipv4Address.Loopback, 0) });
        server.Start(); // server.LocalEndPoint: the port the kernel chose

        using var c = new RawClient(server.LocalEndPoint.Port);
        Assert.Equal("+PONG\r\n", c.Call("PING"));
        Assert.Equal(2, server.ShardCount);
    }
}
