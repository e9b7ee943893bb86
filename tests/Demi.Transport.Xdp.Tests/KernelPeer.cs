using System.Diagnostics;

namespace Demi.Transport.Xdp.Tests;

/// <summary>python3 kernel-socket peers run inside a namespace of a <see cref="VethNamespaces"/>.</summary>
internal static class KernelPeer
{
    public const string UdpSender = """
import socket, sys
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', 40000))
for i in range(n):
    s.sendto(b'demi-%05d-' % i + bytes(range(48)), dst)
""";

    public const string UdpReceiver = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[4]))
print('ready', flush=True)
n = int(sys.argv[3]); got = 0
try:
    while got < n:
        d, a = s.recvfrom(65535)
        print(a[0], a[1], d.hex(), flush=True)
        got += 1
except socket.timeout as e:
    print('timeout', repr(e), sys.argv, file=sys.stderr, flush=True)
print('done', got, flush=True)
""";

    /// <summary>argv: server ip, port, count, per-reply timeout. Sends count datagrams one at a time, awaits each echo; prints "ok N".</summary>
    public const string UdpEchoClient = """
import socket, sys
dst = (sys.argv[1], int(sys.argv[2])); n = int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(float(sys.argv[4]))
ok = 0
for i in range(n):
    msg = b'kernel-%05d-' % i + bytes(range(40))
    s.sendto(msg, dst)
    try:
        d, a = s.recvfrom(65535)
        if d == msg and a == dst:
            ok += 1
    except socket.timeout:
        pass
print('ok', ok, flush=True)
""";

    /// <summary>argv: bind ip, port, count, idle timeout. Echoes datagrams back until count or idle timeout.</summary>
    public const string UdpEchoServer = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[4]))
print('ready', flush=True)
n = int(sys.argv[3]); got = 0
try:
    while got < n:
        d, a = s.recvfrom(65535)
        s.sendto(d, a)
        got += 1
except socket.timeout:
    pass
print('done', got, flush=True)
""";

    /// <summary>argv: interface, dst mac, src mac, src ip, dst ip, rounds. Sends rounds x 6 malformed frames with AF_PACKET; prints the count.</summary>
    public const string MalformedBurst = """
import socket, struct, sys
ifname, dmac, smac, sip, dip, rounds = sys.argv[1], bytes.fromhex(sys.argv[2].replace(':', '')), bytes.fromhex(sys.argv[3].replace(':', '')), socket.inet_aton(sys.argv[4]), socket.inet_aton(sys.argv[5]), int(sys.argv[6])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def ip(payload, proto=17, ihl=5, total=None, fix=True):
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total if total is not None else 20 + len(payload), 1, 0, 64, proto, 0, sip, dip)
    if fix: h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
    return h + payload
eth = dmac + smac + b'\x08\x00'
udp_bad_sum = struct.pack('!HHHH', 1234, 7, 12, 0x1234) + b'abcd'
frames = [
    eth,                                               # Ethernet header only
    eth + ip(b'\0' * 8)[:12],                         # truncated IPv4 header
    eth + ip(udp_bad_sum, fix=False),                  # bad IPv4 header checksum
    eth + ip(udp_bad_sum, ihl=3),                      # IHL below 5
    eth + ip(struct.pack('!HHHH', 1234, 7, 200, 0) + b'abcd'),  # UDP length beyond the packet
    eth + ip(udp_bad_sum),                             # bad UDP checksum
]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
n = 0
for r in range(rounds):
    for f in frames:
        s.send(f.ljust(14, b'\0'))
        n += 1
print(n, flush=True)
""";

    /// <summary>
    /// argv: server ip, port, sockets, rounds, timeout, gap seconds. Each round sends one datagram from
    /// each of several sockets (distinct flows, so the kernel spreads them over the veth's queues),
    /// then collects the echoes; prints "ok N maxrtt_ms".
    /// </summary>
    public const string UdpMultiFlowEchoClient = """
import socket, sys, time
dst = (sys.argv[1], int(sys.argv[2])); k = int(sys.argv[3]); rounds = int(sys.argv[4]); timeout = float(sys.argv[5]); gap = float(sys.argv[6])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(k)]
for s in socks: s.settimeout(timeout)
ok = 0; worst = 0.0
for r in range(rounds):
    for i, s in enumerate(socks):
        msg = b'flow-%03d-round-%05d-' % (i, r) + bytes(range(32))
        t0 = time.monotonic()
        s.sendto(msg, dst)
        try:
            d, a = s.recvfrom(65535)
            worst = max(worst, time.monotonic() - t0)
            if d == msg and a == dst: ok += 1
        except socket.timeout:
            pass
    if gap > 0: time.sleep(gap)
print('ok', ok, '%.1f' % (worst * 1000), flush=True)
""";

    /// <summary>
    /// argv: bind ip, port, count, idle timeout, reply sockets. Like <see cref="UdpEchoServer"/>, but
    /// sends each echo from one of several sockets in turn (ports port+1...): distinct flows, so the
    /// kernel spreads the replies over the veth's queues (one socket replies on the queue it heard on).
    /// </summary>
    public const string UdpSpreadingEchoServer = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
s.settimeout(float(sys.argv[4]))
out = []
for i in range(int(sys.argv[5])):
    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    o.bind((sys.argv[1], int(sys.argv[2]) + 1 + i))
    out.append(o)
print('ready', flush=True)
n = int(sys.argv[3]); got = 0
try:
    while got < n:
        d, a = s.recvfrom(65535)
        out[got % len(out)].sendto(d, a)
        got += 1
except socket.timeout:
    pass
print('done', got, flush=True)
""";

    /// <summary>Starts the receiver and waits until it is bound.</summary>
    public static Process StartUdpReceiver(VethNamespaces veth, int port, int count, double timeoutSeconds)
    {
        var p = veth.Start(VethSide.B, "python3", "-c", UdpReceiver, veth.AddressB, port.ToString(), count.ToString(), timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        string? line = p.StandardOutput.ReadLine();
        if (line != "ready")
            Assert.Fail("python receiver did not start: " + line + p.StandardError.ReadToEnd());
        return p;
    }

    /// <summary>Waits for the receiver to finish and returns the datagram lines (source ip, port, hex payload).</summary>
    public static List<string[]> CollectReceived(Process p, TimeSpan timeout)
    {
        Assert.True(p.WaitForExit(timeout), "python receiver did not finish");
        string err = p.StandardError.ReadToEnd();
        Assert.True(p.ExitCode == 0, "python receiver failed: " + err);
        var lines = new List<string[]>();
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("done", StringComparison.Ordinal))
                break;
            lines.Add(line.Split(' '));
        }
        return lines;
    }
}
