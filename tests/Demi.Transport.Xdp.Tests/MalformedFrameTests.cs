using System.Globalization;
using Demi.Inet;
using Demi.Inet.Tcp;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// Malformed frames crafted with scapy in the peer namespace, sent raw (AF_PACKET) at a live Demi
/// AF_XDP server (UDP echo on 7, TCP listener on 7000): every class moves exactly its own
/// <see cref="DropReason"/> or TCP statistic by the number of frames sent, and the server still echoes
/// after each class. Not covered: Ethernet frames shorter than 14 bytes and frames over the MTU cannot
/// be sent over a veth (the kernel pads the first to a header and drops the second before XDP sees it).
/// </summary>
public sealed class MalformedFrameTests(ITestOutputHelper output)
{
    private const int FramesPerVariant = 10;

    /// <summary>
    /// argv: dst mac, src mac, src ip, dst ip. Prints one line per class: its name, then the hex of
    /// each of its frames. TCP segments with deliberate errors get their checksum computed by hand
    /// (scapy would re-encode a bad option or data offset).
    /// </summary>
    private const string Craft = """
import struct, sys
from scapy.all import Ether, IP, UDP, TCP, Raw, raw
dmac, smac, sip, dip = sys.argv[1:5]
eth = Ether(dst=dmac, src=smac)
eth_ip = Ether(dst=dmac, src=smac, type=0x0800)  # scapy guesses the type from the payload: a Raw one must be told
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def tcp_bytes(hdr, payload=b''):
    import socket
    seg = hdr[:16] + b'\0\0' + hdr[18:] + payload
    pseudo = socket.inet_aton(sip) + socket.inet_aton(dip) + struct.pack('!BBH', 0, 6, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]
def tcp_with(dataofs_words, options):
    base = struct.pack('!HHIIBBHHH', 40001, 7000, 1000, 0, dataofs_words << 4, 0x02, 64240, 0, 0)
    return IP(src=sip, dst=dip, proto=6) / Raw(tcp_bytes(base + options))
udp = UDP(sport=40002, dport=7) / Raw(b'malformed')
classes = {
    'ipv4-truncated': [eth_ip / Raw(raw(IP(src=sip, dst=dip) / udp)[:12])],
    'ipv4-bad-checksum': [eth / IP(src=sip, dst=dip, chksum=0x1234) / udp],
    'ipv4-bad-ihl': [eth / IP(src=sip, dst=dip, ihl=3) / udp, eth / IP(src=sip, dst=dip, ihl=15) / Raw(b'\0' * 20)],
    'ipv4-bad-total-length': [eth / IP(src=sip, dst=dip, len=1400) / udp, eth / IP(src=sip, dst=dip, len=12) / udp],
    'ipv4-fragment': [eth / IP(src=sip, dst=dip, flags='MF', frag=0) / udp, eth / IP(src=sip, dst=dip, frag=100) / udp],
    'martian-source': [eth / IP(src=s, dst=dip) / udp for s in ('127.0.0.1', dip, '10.99.0.0', '10.99.0.255')],
    'unknown-ethertype': [Ether(dst=dmac, src=smac, type=0x88b5) / Raw(b'\0' * 46)],
    'udp-truncated': [eth / IP(src=sip, dst=dip, proto=17) / Raw(b'\x9c\x42\x00')],
    'udp-bad-length': [eth / IP(src=sip, dst=dip) / UDP(sport=40002, dport=7, len=200) / Raw(b'malformed')],
    'udp-bad-checksum': [eth / IP(src=sip, dst=dip) / UDP(sport=40002, dport=7, chksum=0x1234) / Raw(b'malformed')],
    'tcp-truncated': [eth / IP(src=sip, dst=dip, proto=6) / Raw(b'\x9c\x41\x1b\x58' + b'\0' * 8)],
    'tcp-bad-data-offset': [eth / tcp_with(3, b''), eth / tcp_with(15, b'')],
    'tcp-bad-options': [eth / tcp_with(6, b'\x02\x01\x05\xb4'), eth / tcp_with(6, b'\x03\x09\x07\x00')],
    'tcp-bad-checksum': [eth / IP(src=sip, dst=dip) / TCP(sport=40001, dport=7000, flags='S', chksum=0x1234)],
}
for name, frames in classes.items():
    print(name, ' '.join(raw(f).hex() for f in frames), flush=True)
""";

    /// <summary>argv: interface, count per frame, frames as hex. Sends each frame count times over AF_PACKET; prints the total.</summary>
    private const string Send = """
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
n = 0
for h in sys.argv[3:]:
    f = bytes.fromhex(h)
    for _ in range(int(sys.argv[2])):
        s.send(f); n += 1
print(n, flush=True)
""";

    [Fact]
    public void Each_malformed_class_is_dropped_under_its_own_counter_and_the_server_keeps_serving()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        using var libOS = DemiOverVeth.Create(veth, VethSide.A, out _, tcp: true);
        Assert.Equal(0, libOS.Socket(out int uqd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
        Assert.Equal(0, libOS.Bind(uqd, new Ipv4Endpoint(Ipv4Address.Any, 7)));
        var echo = DemiOverVeth.StartUdpEcho(libOS, uqd);
        Assert.Equal(0, libOS.Socket(out int lqd, SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0));
        Assert.Equal(0, libOS.Bind(lqd, new Ipv4Endpoint(Ipv4Address.Any, 7000)));
        Assert.Equal(0, libOS.Listen(lqd, 8));
        var first = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "5", "2");
        Assert.Equal("ok 5", first.StandardOutput.Trim());

        var crafted = veth.Run(VethSide.B, TimeSpan.FromSeconds(60), Scapy.Python, "-c", Craft,
            veth.MacA.ToString(), veth.MacB.ToString(), veth.AddressB, veth.AddressA);
        crafted.EnsureSuccess("scapy");
        var stack = InetBackend.StackOf(libOS.Shards[0])!;
        var tcp = TcpTransport.LayerOf(libOS.Shards[0])!;
        var expected = new (string Class, Func<long> Counter)[]
        {
            ("ipv4-truncated", () => stack.Counters[DropReason.Ipv4Truncated]),
            ("ipv4-bad-checksum", () => stack.Counters[DropReason.Ipv4BadChecksum]),
            ("ipv4-bad-ihl", () => stack.Counters[DropReason.Ipv4BadHeaderLength]),
            ("ipv4-bad-total-length", () => stack.Counters[DropReason.Ipv4BadTotalLength]),
            ("ipv4-fragment", () => stack.Counters[DropReason.Ipv4Fragment]),
            ("martian-source", () => stack.Counters[DropReason.Ipv4MartianSource]),
            ("unknown-ethertype", () => stack.Counters[DropReason.UnsupportedEtherType]),
            ("udp-truncated", () => stack.Counters[DropReason.UdpTruncated]),
            ("udp-bad-length", () => stack.Counters[DropReason.UdpBadLength]),
            ("udp-bad-checksum", () => stack.Counters[DropReason.UdpBadChecksum]),
            ("tcp-truncated", () => libOS.Shards[0].Invoke(() => (int)tcp.Statistics.TruncatedDropped)),
            ("tcp-bad-data-offset", () => libOS.Shards[0].Invoke(() => (int)tcp.Statistics.BadDataOffsetDropped)),
            ("tcp-bad-options", () => libOS.Shards[0].Invoke(() => (int)tcp.Statistics.BadOptionsDropped)),
            ("tcp-bad-checksum", () => libOS.Shards[0].Invoke(() => (int)tcp.Statistics.ChecksumErrors)),
        };
        var frames = crafted.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1..]);
        var failures = new List<string>();
        foreach (var (name, counter) in expected)
        {
            Assert.True(frames.TryGetValue(name, out var hex), $"scapy did not craft {name}");
            long before = counter();
            var sent = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), Send, [veth.InterfaceB, FramesPerVariant.ToString(CultureInfo.InvariantCulture), .. hex]);
            sent.EnsureSuccess("send " + name);
            int n = hex.Length * FramesPerVariant;
            Assert.Equal(n.ToString(CultureInfo.InvariantCulture), sent.StandardOutput.Trim());
            // The echo after the class: the server still serves, and every frame of the class has been processed.
            var after = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(30), KernelPeer.UdpEchoClient, veth.AddressA, "7", "3", "2");
            long counted = counter() - before;
            output.WriteLine($"{name}: {n} sent, {counted} counted, echo after: {after.StandardOutput.Trim()}");
            if (after.StandardOutput.Trim() != "ok 3")
                failures.Add($"{name}: echo after it: {after.StandardOutput.Trim()} {after.StandardError.Trim()}");
            if (counted != n)
                failures.Add($"{name}: {n} frames sent, counter moved by {counted} ({stack.Counters})");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(0, libOS.Close(lqd));
        Assert.Equal(0, libOS.Close(uqd));
        Assert.True(echo.Join(DemiOverVeth.Timeout), "the echo thread did not end");
        Demi.Tests.Shared.StackHealth.AssertClean(libOS);
    }
}
