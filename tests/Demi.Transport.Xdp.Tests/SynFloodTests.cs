using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Demi.Transport.Xdp.Tests;

/// <summary>
/// A SYN flood from random source ports (issue 16 item 8's attack, item 5 of its follow-up) at a live
/// <c>demi echo server --proto tcp --backend xdp</c>: half the SYNs from the peer's own address (its
/// kernel resets the SYN-ACKs), half from a spoofed neighbour that never answers ARP. Bounded: a fixed
/// number of SYNs, sent within a time limit, all inside the test's namespaces. A legitimate kernel
/// client keeps connecting and echoing during the flood and after it; the server's RSS stays bounded.
/// </summary>
public sealed class SynFloodTests(ITestOutputHelper output)
{
    // Bounded: at most MaxSyns, at SynsPerSecond, for at most 30 s; it stops once the client during it is done.
    private const int MaxSyns = 100_000;
    private const int SynsPerSecond = 5000;
    private const long RssGrowthLimitKb = 96 * 1024;

    /// <summary>
    /// argv: dst ip, dst port, max count, real src ip, spoofed src ip, seed, time limit s, rate per s, stop file.
    /// Builds 4000 SYNs with scapy (random source ports and sequence numbers), prints "flooding", then
    /// sends them round after round over a raw IP socket at the rate until the stop file exists, the
    /// count or the time limit is reached; prints "sent N".
    /// </summary>
    private const string Flood = """
import os, random, socket, sys, time
from scapy.all import IP, TCP, raw
dst, port, n, real, spoofed, seed, limit, rate, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6]), float(sys.argv[7]), float(sys.argv[8]), sys.argv[9]
rnd = random.Random(seed)
frames = [raw(IP(src=real if i % 2 == 0 else spoofed, dst=dst) / TCP(sport=rnd.randrange(1024, 65536), dport=port, flags='S', seq=rnd.getrandbits(32), window=64240, options=[('MSS', 1460)])) for i in range(4000)]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
print('flooding', flush=True)
t0 = time.monotonic(); sent = 0
while sent < n and time.monotonic() - t0 < limit and not os.path.exists(stop):
    for _ in range(100):
        try:
            s.sendto(frames[sent % len(frames)], (dst, 0)); sent += 1
        except OSError:
            pass
    ahead = sent / rate - (time.monotonic() - t0)
    if ahead > 0: time.sleep(ahead)
print('sent', sent, flush=True)
""";

    /// <summary>argv: ip, port, connections, timeout, gap s. Connects, echoes 64 bytes, closes, each in turn; prints "ok N of M".</summary>
    private const string LegitimateClient = """
import socket, sys, time
ip, port, n, timeout, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
ok = 0
for i in range(n):
    msg = b'legit-%04d-' % i + bytes(range(53))
    try:
        s = socket.create_connection((ip, port), timeout=timeout)
        s.sendall(msg); got = b''
        while len(got) < len(msg):
            d = s.recv(4096)
            if not d: break
            got += d
        s.close()
        if got == msg: ok += 1
    except OSError as e:
        print('fail', i, repr(e), file=sys.stderr, flush=True)
    time.sleep(gap)
print('ok', ok, 'of', n, flush=True)
""";

    [Fact]
    public async Task Legitimate_client_is_served_during_and_after_a_syn_flood_and_memory_stays_bounded()
    {
        Privileges.RequireRoot();
        using var veth = VethNamespaces.Create();
        string demi = Path.Combine(AppContext.BaseDirectory, "demi.dll");
        Assert.True(File.Exists(demi), $"{demi} is missing");
        var server = veth.Start(VethSide.A, "dotnet", demi, "echo", "server", "--proto", "tcp", "--backend", "xdp",
            "--iface", veth.InterfaceA, "--ip", veth.AddressA, "--bind", $"{veth.AddressA}:7100");
        string? ready = await server.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(ready is not null && ready.StartsWith("demi echo server (tcp, xdp backend)", StringComparison.Ordinal),
            ready ?? "(no output) " + await server.StandardError.ReadToEndAsync());

        // Warm up (JIT, ARP) and take the baseline.
        var before = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), LegitimateClient, veth.AddressA, "7100", "10", "5", "0");
        Assert.Equal("ok 10 of 10", before.StandardOutput.Trim());
        long baselineKb = RssKb(server);

        long peakKb = baselineKb;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakKb = Math.Max(peakKb, RssKb(server));
                await Task.Delay(100);
            }
        });
        var sw = Stopwatch.StartNew();
        string stopFile = Path.Combine(Path.GetTempPath(), $"demi-synflood-{Environment.ProcessId}-{Guid.NewGuid():N}.stop");
        var flood = veth.Start(VethSide.B, Scapy.Python, "-c", Flood, veth.AddressA, "7100", MaxSyns.ToString(CultureInfo.InvariantCulture),
            veth.AddressB, "10.99.0.200", "5", "30", SynsPerSecond.ToString(CultureInfo.InvariantCulture), stopFile);
        string? flooding = await flood.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(flooding == "flooding", flooding ?? "(flood: no output) " + await flood.StandardError.ReadToEndAsync());
        var during = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(90), LegitimateClient, veth.AddressA, "7100", "20", "5", "0.05");
        File.WriteAllText(stopFile, "");
        string? floodResult = await flood.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        File.Delete(stopFile);
        var after = veth.RunPython(VethSide.B, TimeSpan.FromSeconds(60), LegitimateClient, veth.AddressA, "7100", "20", "5", "0");
        sampling.Cancel();
        await sampler;
        output.WriteLine($"flood: {floodResult} in {sw.Elapsed.TotalSeconds:F1} s; during: {during.StandardOutput.Trim()} {during.StandardError.Trim()}; after: {after.StandardOutput.Trim()} {after.StandardError.Trim()}");
        output.WriteLine($"server RSS: baseline {baselineKb} kB, peak {peakKb} kB, after {RssKb(server)} kB");

        Assert.True(floodResult is not null && floodResult.StartsWith("sent ", StringComparison.Ordinal), $"flood: {floodResult}");
        // The flood ran for the whole of the "during" client's connections (it stops when they are done).
        int sent = int.Parse(floodResult[5..], CultureInfo.InvariantCulture);
        Assert.True(sent >= 1000, $"the flood sent only {sent} SYNs while the client connected");
        Assert.Equal("ok 20 of 20", during.StandardOutput.Trim());
        Assert.Equal("ok 20 of 20", after.StandardOutput.Trim());
        Assert.True(peakKb - baselineKb < RssGrowthLimitKb, $"server RSS grew by {peakKb - baselineKb} kB under the flood");
        Assert.False(server.HasExited, "the echo server exited");
    }

    private static long RssKb(Process p)
    {
        foreach (var line in File.ReadLines($"/proc/{p.Id}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no VmRSS");
    }
}

/// <summary>scapy comes from Debian's python3-scapy (scripts/install-deps.sh): run it with the system python, not whichever python3 PATH finds first (a pyenv one lacks it).</summary>
internal static class Scapy
{
    public const string Python = "/usr/bin/python3";
}
