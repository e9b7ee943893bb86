using Demi.Async;
using Demi.Transport.Xdp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Demi.Hosting.Tests;

internal static class TestHost
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>A real generic host with <c>AddDemi(configuration.GetSection("Demi"))</c> and a fake log collector.</summary>
    public static IHost Build(IDictionary<string, string?> demi, Action<IServiceCollection>? services = null, TimeSpan? shutdownTimeout = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(demi.Select(kv => new KeyValuePair<string, string?>("Demi:" + kv.Key, kv.Value)));
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFakeLogging();
        builder.Services.AddDemi(builder.Configuration.GetSection("Demi"));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdownTimeout ?? TimeSpan.FromSeconds(10));
        services?.Invoke(builder.Services);
        return builder.Build();
    }

    public static IReadOnlyList<FakeLogRecord> Logs(this IHost host) => host.Services.GetFakeLogCollector().GetSnapshot();

    public static bool Logged(this IHost host, string eventName) => host.Logs().Any(r => r.Id.Name == eventName);

    public static void RequireRoot()
    {
        if (!VethNamespaces.CanCreate(out var reason))
            Assert.Fail("This test needs root with network namespaces and AF_XDP: " + reason);
    }

    /// <summary>
    /// A Demi UDP echo on <paramref name="port"/> that a kernel peer in namespace B feeds with
    /// <paramref name="count"/> numbered datagrams (resent until echoed: ARP may take the first);
    /// asserts every echo came back intact.
    /// </summary>
    public static async Task AssertKernelPeerGetsUdpEchoes(LibOS libOS, VethNamespaces veth, ushort port, int count)
    {
        using var echo = DemiUdpSocket.Create(libOS).Bind(new Ipv4Endpoint(Ipv4Address.Any, port));
        using var cts = new CancellationTokenSource(Timeout);
        var serving = Task.Run(async () =>
        {
            for (int i = 0; i < count; i++)
            {
                var (data, from) = await echo.ReceiveFromAsync(cts.Token);
                await echo.SendToAsync(data, from, cts.Token);
                echo.Free(data);
            }
        });
        var client = veth.RunPython(VethSide.B, Timeout, EchoClient, veth.AddressA, port.ToString(), count.ToString());
        Assert.True(client.Succeeded, client.StandardError);
        Assert.Equal($"ok {count}", client.StandardOutput.Trim());
        await serving.WaitAsync(cts.Token);
    }

    private const string EchoClient = """
import socket, sys
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
ok = 0
for i in range(n):
    msg = b'host-echo-%05d' % i
    for attempt in range(5):
        s.sendto(msg, dst)
        try:
            d, a = s.recvfrom(65535)
            if d == msg:
                ok += 1
                break
        except socket.timeout:
            pass
print('ok', ok, flush=True)
""";
}
