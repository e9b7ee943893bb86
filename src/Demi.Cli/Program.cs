using Demi.Cli.Echo;
using Demi.Runtime;

namespace Demi.Cli;

internal static class Program
{
    private const string Usage = """
        demi — the Demi kernel-bypass libOS command

        usage:
          demi echo demo   [--proto udp|tcp|both] [--size 64] [--duration 5s] [--count N] [--warmup 1s]
                           [--concurrency 1] [--server-core FIRST] [--client-core LAST] [--json FILE]
              Runs a Demi echo server and client over 127.0.0.1 on the kernel-socket backend, then the
              same shape on plain .NET sockets, each both busy-polling and sleeping when idle, and prints
              them side by side (msgs/s, RTT p50/p99/p99.9, managed bytes allocated per message).
          demi echo server [--proto udp|tcp] [--bind 127.0.0.1:7777] [--cores LIST] [--idle spin|park|spin-then-park]
          demi echo client [--proto udp|tcp] [--server 127.0.0.1:7777] [--size 64] [--duration 5s | --count N]
                           [--concurrency 1] [--warmup 1s] [--cores LIST] [--idle ...]
          demi doctor
              Reports which backends this machine can run (kernel sockets, AF_XDP, DPDK) and why not.
          demi help
        """ + "\n" + KvCommand.Help + "\n" + BackendFactory.Help;

    private static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"demi: {ex.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (DemiException ex)
        {
            Console.Error.WriteLine($"demi: {ex.Message}");
            return 1;
        }
        catch (Demi.Transport.Xdp.XdpException ex)
        {
            Console.Error.WriteLine($"demi: AF_XDP: {ex.Message} (run `demi doctor`)");
            return 1;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"demi: {ex.Message}");
            return 1;
        }
    }

    private static int Doctor()
    {
        Console.Write(Demi.Transport.Xdp.MachineDoctor.Format([.. Demi.Transport.Xdp.MachineDoctor.Run(), Demi.Transport.Dpdk.DpdkDoctor.Run(startEal: true)]));
        return 0;
    }

    private static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            Console.WriteLine(Usage);
            return 0;
        }
        return (args[0], args.Length > 1 ? args[1] : "") switch
        {
            ("echo", "demo") => EchoCommands.Demo(new Args(args[2..])),
            ("echo", "server") => EchoCommands.Server(new Args(args[2..])),
            ("echo", "client") => EchoCommands.Client(new Args(args[2..])),
            ("kv", _) => KvCommand.Run(new Args(args[1..])),
            ("doctor", _) => Doctor(),
            _ => throw new UsageException($"unknown command '{string.Join(' ', args.Take(2))}'"),
        };
    }
}
