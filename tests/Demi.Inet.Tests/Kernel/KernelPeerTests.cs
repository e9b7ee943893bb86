using System.Diagnostics;

namespace Demi.Inet.Tests.Kernel;

/// <summary>The stack against the real Linux stack over a veth pair between two namespaces.</summary>
public sealed class KernelPeerTests
{
    [Fact]
    public void KernelPingGetsAnswers()
    {
        using var link = new KernelLink();
        using var ping = link.StartInKernelNs("ping", $"-c 3 -i 0.2 -W 2 {KernelLink.StackAddress}");
        Assert.True(link.PollUntil(() => ping.HasExited, TimeSpan.FromSeconds(20)), "ping did not finish");
        string output = ping.StandardOutput.ReadToEnd();
        Assert.True(ping.ExitCode == 0, $"ping failed: {output} {ping.StandardError.ReadToEnd()}");
        Assert.Contains("3 received", output);
        Assert.Equal(3, link.Stack.Counters.IcmpEchoRepliesSent);
        Assert.True(link.Stack.Counters.ArpRepliesSent >= 1);
    }

    [Fact]
    public void UdpBothWaysWithAKernelSocket()
    {
        using var link = new KernelLink();
        // Kernel → stack: socat sends one datagram from port 4001.
        var inbound = link.Stack.CreateUdpSocket();
        Assert.Equal(0, inbound.Bind(new Ipv4Endpoint(Ipv4Address.Any, 5000)));
        using (var send = link.StartInKernelNs("socat", $"-u STDIN UDP4-SENDTO:{KernelLink.StackAddress}:5000,sourceport=4001"))
        {
            send.StandardInput.Write("from-kernel");
            send.StandardInput.Close();
            Assert.True(link.PollUntil(() => inbound.Available > 0, TimeSpan.FromSeconds(10)), $"datagram from the kernel did not arrive: {link.Stack.Counters}; socat: {(send.HasExited ? send.StandardError.ReadToEnd() : "running")}");
            send.WaitForExit(5000);
        }
        Assert.Equal("from-kernel"u8.ToArray(), TwoStacks.PopBytes(inbound, out var from));
        Assert.Equal(new Ipv4Endpoint(KernelLink.KernelAddress, 4001), from);

        // Stack → kernel → stack: a kernel UDP echo (socat) answers what the stack sends (ARP resolved against the kernel).
        using var echo = link.StartInKernelNs("socat", "-T 10 UDP4-RECVFROM:9000,fork PIPE");
        var client = link.Stack.CreateUdpSocket();
        var server = new Ipv4Endpoint(KernelLink.KernelAddress, 9000);
        int sent = 0;
        var sw = Stopwatch.StartNew();
        bool got = link.PollUntil(() => client.Available > 0, TimeSpan.FromSeconds(15), () =>
        {
            // socat may not be listening yet: resend every 200 ms (bounded by the time limit).
            if (sw.ElapsedMilliseconds > sent * 200L)
            {
                client.PushTo(TwoStacks.Payload(link.Stack, "to-kernel"u8), server);
                sent++;
            }
        });
        try
        {
            Assert.True(got, $"no echo from the kernel: {link.Stack.Counters}");
            Assert.Equal("to-kernel"u8.ToArray(), TwoStacks.PopBytes(client, out var echoFrom));
            Assert.Equal(server, echoFrom);
            Assert.True(link.Stack.TryGetArpEntry(KernelLink.KernelAddress, out _));
            Assert.Equal(0, link.Stack.Counters[DropReason.UdpBadChecksum] + link.Stack.Counters[DropReason.Ipv4BadChecksum]);
        }
        finally
        {
            if (!echo.HasExited)
                echo.Kill(entireProcessTree: true);
        }
    }
}
