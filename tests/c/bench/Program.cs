// ns per LibOS.PushTo + LibOS.Wait round trip through the C# errno API (catnap): a UDP datagram to a
// kernel socket on 127.0.0.1 that never reads, waiting for each push's completion. Same shape as
// tests/c/bench_pushto.c for the C ABI.  Usage: dotnet run -c Release --project tests/c/bench -- [N] [WARMUP]
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Demi;

long n = args.Length > 0 ? long.Parse(args[0]) : 100_000;
long warmup = args.Length > 1 ? long.Parse(args[1]) : 10_000;

using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
sink.Bind(new IPEndPoint(IPAddress.Loopback, 0));
int port = ((IPEndPoint)sink.LocalEndPoint!).Port;

using var libos = new LibOS();
Check(libos.Socket(out int qd, SocketConstants.AF_INET, SocketConstants.SOCK_DGRAM, 0));
var sga = libos.SgaAlloc(64);
sga.Span.Fill((byte)'b');
var destination = new Ipv4Endpoint(Ipv4Address.Loopback, (ushort)port);

long failed = 0;
long start = 0;
for (long i = 0; i < warmup + n; i++)
{
    if (i == warmup)
        start = Stopwatch.GetTimestamp();
    Check(libos.PushTo(out ulong qt, qd, sga, destination));
    Check(libos.Wait(out var result, qt));
    if (result.Opcode != Opcode.Push)
        failed++;
}
double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
Console.WriteLine($"C# API: LibOS.PushTo + LibOS.Wait: {seconds * 1e9 / n:F0} ns per round trip (N={n}, warmup {warmup}, {failed} failed)");

// The boundary alone: a call the LibOS rejects at once (EBADF: qd not open), no thread hand-off.
long calls = 10 * n;
long wrong = 0;
start = Stopwatch.GetTimestamp();
for (long i = 0; i < calls; i++)
{
    if (libos.PushTo(out _, 99_999, sga, destination) != Errno.EBADF)
        wrong++;
}
seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
Console.WriteLine($"C# API: LibOS.PushTo rejected (EBADF): {seconds * 1e9 / calls:F1} ns per call (N={calls})");
failed += wrong;
libos.SgaFree(sga);
libos.Close(qd);
return failed == 0 ? 0 : 1;

static void Check(int errno)
{
    if (errno != 0)
        throw new DemiException(errno);
}
