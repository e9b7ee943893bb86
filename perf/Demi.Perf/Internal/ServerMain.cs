using System.Globalization;
using System.Net;

namespace Demi.Perf.Internal;

/// <summary>
/// The <c>serve</c> sub-command, run by the harness inside the server namespace, pinned with taskset:
/// <c>serve BACKEND IP UDP_PORT TCP_ECHO_PORT TCP_SINK_PORT MAX_SECONDS</c>. It prints <c>READY</c>
/// once every socket is bound and serves until stdin closes, it is killed, or MAX_SECONDS pass.
/// </summary>
internal static class ServerMain
{
    public static int Run(string[] args)
    {
        if (args.Length < 6)
            throw new ArgumentException("serve BACKEND IP UDP_PORT TCP_ECHO_PORT TCP_SINK_PORT MAX_SECONDS");
        string backend = args[0];
        var ip = IPAddress.Parse(args[1]);
        int udp = int.Parse(args[2], CultureInfo.InvariantCulture);
        int tcp = int.Parse(args[3], CultureInfo.InvariantCulture);
        int sink = int.Parse(args[4], CultureInfo.InvariantCulture);
        double maxSeconds = double.Parse(args[5], CultureInfo.InvariantCulture);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(maxSeconds));
        // The harness stops us with SIGTERM too: finish the serve loop (counters, clean XDP detach) instead of dying mid-way.
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        // The harness closes our stdin to stop us politely.
        var stdinWatch = new Thread(() =>
        {
            try { while (Console.In.Read() >= 0) { } } catch (IOException) { }
            stop.Cancel();
        }) { IsBackground = true, Name = "stdin-watch" };
        IEchoServer server = backend switch
        {
            "dotnet-kernel" => new KernelEchoServer(ip, udp, tcp, sink),
            "demi-kernel" => new DemiEchoServer(ip, udp, tcp, sink, backend: null),
            "demi-xdp" => new DemiEchoServer(ip, udp, tcp, sink, backend: XdpBackendFactory.Create(ip)),
            "demi-dpdk" => new DemiEchoServer(ip, udp, tcp, sink, backend: DpdkBackendFactory.Create(ip)),
            // The Demikernel-style app thread on WaitAny, for comparison with the shard-inline server.
            "demi-kernel-waitany" => new DemiWaitAnyEchoServer(ip, udp, tcp, sink, backend: null),
            "demi-xdp-waitany" => new DemiWaitAnyEchoServer(ip, udp, tcp, sink, backend: XdpBackendFactory.Create(ip)),
            _ => throw new ArgumentException($"unknown server backend {backend}"),
        };
        using (server)
        {
            server.Start(stop.Token);
            Console.Out.WriteLine("READY");
            Console.Out.Flush();
            stdinWatch.Start();
            server.Wait(stop.Token);
        }
        return 0;
    }
}
