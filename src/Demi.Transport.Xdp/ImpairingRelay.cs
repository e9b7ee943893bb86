using System.Diagnostics;
using System.Globalization;

namespace Demi.Transport.Xdp;

/// <summary>Frames the impairing relay saw and what it did with them, per direction (see <see cref="VethOptions.Impairment"/>).</summary>
/// <param name="Received">Frames read from the sending side.</param>
/// <param name="Dropped">Frames dropped (loss).</param>
/// <param name="Reordered">Frames held back so that later ones overtook them.</param>
/// <param name="Duplicated">Frames sent twice.</param>
/// <param name="Sent">Frames written to the receiving side.</param>
/// <param name="SendFailed">Writes the receiving side's veth refused (its queue was full).</param>
public readonly record struct RelayDirectionStatistics(long Received, long Dropped, long Reordered, long Duplicated, long Sent, long SendFailed);

/// <summary>The impairing relay's counters: A→B and B→A.</summary>
public readonly record struct RelayStatistics(RelayDirectionStatistics AToB, RelayDirectionStatistics BToA);

/// <summary>
/// The impairing relay: a python3 AF_PACKET forwarder between the two veth ends of the middle
/// namespace. One process, one loop: a frame read from one side is dropped, or queued (duplicated
/// perhaps) with its release time (delay, plus the reorder delay for the few held back), and written
/// to the other side when that time comes. Its counters go to a file (12 numbers: A→B then B→A) twice a second.
/// </summary>
internal static class ImpairingRelay
{
    public const string InterfaceTowardsA = "relay-a";
    public const string InterfaceTowardsB = "relay-b";

    /// <summary>argv: if towards A, if towards B, seed, loss, reorder, duplicate, delay s, reorder delay s, statistics file.</summary>
    private const string Script = """
import heapq, os, random, select, socket, struct, sys, time
if_a, if_b, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
loss, reorder, dup, delay, reorder_delay = (float(x) for x in sys.argv[4:9])
stats_path = sys.argv[9]
ETH_P_ALL, SOL_PACKET, PACKET_ADD_MEMBERSHIP, PACKET_MR_PROMISC, PACKET_OUTGOING = 3, 263, 1, 1, 4
def open_side(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((name, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    # Frames for the far side's MAC are not ours: promiscuous, so the veth hands them up.
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, struct.pack('iHH8s', socket.if_nametoindex(name), PACKET_MR_PROMISC, 0, b''))
    s.setblocking(False)
    return s
sa, sb = open_side(if_a), open_side(if_b)
# Per direction: [received, dropped, reordered, duplicated, sent, send_failed]; key = socket read from.
st = {sa: [0] * 6, sb: [0] * 6}
rng = {sa: random.Random(seed), sb: random.Random(seed + 1)}
peer = {sa: sb, sb: sa}
heap = []; seq = 0; next_stats = 0.0
def write_stats():
    tmp = stats_path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(' '.join(str(v) for v in st[sa] + st[sb]))
    os.replace(tmp, stats_path)
write_stats()
print('ready', flush=True)
while True:
    now = time.monotonic()
    while heap and heap[0][0] <= now:
        _, _, src, frame = heapq.heappop(heap)
        try:
            peer[src].send(frame); st[src][4] += 1
        except OSError:
            st[src][5] += 1
    if now >= next_stats:
        write_stats(); next_stats = now + 0.5
    timeout = min(0.5, max(0.0, heap[0][0] - now)) if heap else 0.5
    readable, _, _ = select.select((sa, sb), (), (), timeout)
    now = time.monotonic()
    for s in readable:
        r = rng[s]; c = st[s]
        for _ in range(64):
            try:
                frame, addr = s.recvfrom(65536)
            except BlockingIOError:
                break
            if addr[2] == PACKET_OUTGOING:
                continue
            c[0] += 1
            if r.random() < loss:
                c[1] += 1; continue
            t = now + delay
            if r.random() < reorder:
                c[2] += 1; t += reorder_delay
            copies = 1
            if r.random() < dup:
                c[3] += 1; copies = 2
            for _ in range(copies):
                heapq.heappush(heap, (t, seq, s, frame)); seq += 1
""";

    /// <summary>Starts the relay in namespace <paramref name="ns"/> and waits until both sides are open.</summary>
    public static Process Start(VethNamespaces veth, string ns, ImpairmentOptions o, string statisticsPath, TimeSpan timeout)
    {
        string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var p = veth.StartIn(ns, "python3", "-c", Script, InterfaceTowardsA, InterfaceTowardsB,
            o.Seed.ToString(CultureInfo.InvariantCulture), F(o.Loss), F(o.Reorder), F(o.Duplicate),
            F(o.Delay.TotalSeconds), F(o.ReorderDelay.TotalSeconds), statisticsPath);
        var ready = p.StandardOutput.ReadLineAsync();
        if (!ready.Wait(timeout) || ready.Result != "ready")
        {
            string err = p.HasExited ? p.StandardError.ReadToEnd() : "(still running)";
            throw new XdpException($"impairing relay did not start: {err}");
        }
        return p;
    }

    public static RelayStatistics Read(string statisticsPath)
    {
        var v = File.ReadAllText(statisticsPath).Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        if (v.Length != 12)
            throw new XdpException($"impairing relay statistics unreadable: {string.Join(' ', v)}");
        return new RelayStatistics(new(v[0], v[1], v[2], v[3], v[4], v[5]), new(v[6], v[7], v[8], v[9], v[10], v[11]));
    }
}
