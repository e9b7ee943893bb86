using System.Diagnostics;

namespace Demi.Inet.Tests;

public sealed class PcapTests
{
    private static string RunTool(string tool, string args)
    {
        if (!File.Exists($"/usr/bin/{tool}"))
            Assert.Fail($"{tool} is not installed: this test needs the Debian packages tcpdump and tshark (apt-get install -y tcpdump tshark).");
        var psi = new ProcessStartInfo(tool, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string error = p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(60_000), $"{tool} did not finish");
        Assert.True(p.ExitCode == 0, $"{tool} {args} exited {p.ExitCode}: {error}");
        return output;
    }

    [Fact]
    public void CaptureIsReadableByTcpdumpAndTshark()
    {
        string dir = Directory.CreateTempSubdirectory("demi-pcap-").FullName;
        string pathA = Path.Combine(dir, "a.pcap");
        try
        {
            using (var net = new TwoStacks(configureA: o => o.CapturePath = pathA))
            {
                var b = net.B.CreateUdpSocket();
                Assert.Equal(0, b.Bind(new Ipv4Endpoint(Ipv4Address.Any, 40002)));
                var a = net.A.CreateUdpSocket();
                Assert.Equal(0, a.Bind(new Ipv4Endpoint(Ipv4Address.Any, 40001)));
                a.PushTo(TwoStacks.Payload(net.A, "hello"u8), new Ipv4Endpoint(TwoStacks.AddressB, 40002));
                net.Pump();
                TwoStacks.PopBytes(b, out var from);
                b.PushTo(TwoStacks.Payload(net.B, "back!!"u8), from);
                net.Pump();
                TwoStacks.PopBytes(a, out _);
            }
            // A sent: ARP request, UDP; received: ARP reply, UDP.
            string tcpdump = RunTool("tcpdump", $"-nn -r {pathA}");
            var lines = tcpdump.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, lines.Length);
            Assert.Contains("ARP, Request who-has 10.0.0.2 tell 10.0.0.1", lines[0]);
            Assert.Contains("ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:0b", lines[1]);
            Assert.Contains("10.0.0.1.40001 > 10.0.0.2.40002: UDP, length 5", lines[2]);
            Assert.Contains("10.0.0.2.40002 > 10.0.0.1.40001: UDP, length 6", lines[3]);

            // tshark validates the checksums it sees (checksum status 1 = good).
            string tshark = RunTool("tshark", $"-r {pathA} -o udp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields -e frame.protocols -e ip.checksum.status -e udp.checksum.status -e udp.length");
            var rows = tshark.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(4, rows.Length);
            Assert.StartsWith("eth:ethertype:arp", rows[0]);
            Assert.Equal("eth:ethertype:ip:udp:data\t1\t1\t13", rows[2].Trim());
            Assert.Equal("eth:ethertype:ip:udp:data\t1\t1\t14", rows[3].Trim());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
