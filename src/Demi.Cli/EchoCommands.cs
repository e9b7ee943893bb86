using System.Globalization;
using System.Net;
using System.Text.Json;
using Demi.Cli.Echo;
using Demi.Runtime;

namespace Demi.Cli;

/// <summary>The echo subcommands.</summary>
internal static class EchoCommands
{
    public static int Demo(Args args)
    {
        var protocols = args.String("proto", "both") switch
        {
            "both" => new[] { "udp", "tcp" },
            "udp" => ["udp"],
            "tcp" => ["tcp"],
            var p => throw new UsageException($"--proto must be udp, tcp or both, got '{p}'"),
        };
        var settings = ReadSettings(args, "udp");
        var allowed = CpuSet.AllowedCores().ToArray();
        int serverCore = args.Int("server-core", allowed[0]);
        int clientCore = args.Int("client-core", allowed[^1]);
        string? json = args.OptionalString("json");
        args.RejectUnknown();

        Console.WriteLine($"Echo over 127.0.0.1: {settings.MessageSize}-byte messages, {settings.Concurrency} lane(s), " +
                          (settings.Count > 0 ? $"{settings.Count:N0} messages" : $"{settings.Duration.TotalSeconds:F0} s") +
                          $" after {settings.Warmup.TotalSeconds:F0} s warm-up; server on core {serverCore}, client on core {clientCore}.");
        var results = new List<EchoResult>();
        foreach (var protocol in protocols)
        {
            var s = settings with { Protocol = protocol };
            // Each side in both idle shapes: busy-polling (lowest latency, a core each) and sleeping.
            results.Add(RunDemi(s, serverCore, clientCore, IdleStrategy.BusySpin, "demi, spin"));
            results.Add(RunSockets(s, serverCore, clientCore, spin: true));
            results.Add(RunDemi(s, serverCore, clientCore, IdleStrategy.SpinThenPark, "demi, spin-then-park"));
            results.Add(RunSockets(s, serverCore, clientCore, spin: false));
        }
        Console.WriteLine();
        Console.WriteLine(EchoResult.Header);
        foreach (var r in results)
            Console.WriteLine(r.Row);
        Console.WriteLine();
        foreach (var protocol in protocols)
        {
            foreach (var (demiName, socketsName) in new[] { ("demi, spin", ".NET sockets, spin"), ("demi, spin-then-park", ".NET sockets, blocking") })
            {
                var demi = results.First(r => r.Protocol == protocol && r.Name == demiName);
                var sockets = results.First(r => r.Protocol == protocol && r.Name == socketsName);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{protocol}: {demiName} / {socketsName}: throughput {demi.MessagesPerSecond / Math.Max(1, sockets.MessagesPerSecond):F2}x, p50 {demi.P50Micros / Math.Max(0.001, sockets.P50Micros):F2}x, p99 {demi.P99Micros / Math.Max(0.001, sockets.P99Micros):F2}x"));
            }
        }
        if (json is not null)
            File.WriteAllText(json, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
        return results.All(r => r.Messages > 0) ? 0 : 1;
    }

    private static EchoResult RunDemi(EchoSettings settings, int serverCore, int clientCore, IdleStrategy idle, string name)
    {
        using var serverOS = new LibOS(new LibOSOptions { Cores = serverCore.ToString(CultureInfo.InvariantCulture), ShardIdle = idle });
        using var server = new DemiEchoServer(serverOS, settings.Protocol);
        server.Start(new Ipv4Endpoint(Ipv4Address.Loopback, 0));
        using var clientOS = new LibOS(new LibOSOptions { Cores = clientCore.ToString(CultureInfo.InvariantCulture), ShardIdle = idle });
        return new DemiEchoClient(clientOS, settings).Run(server.LocalEndPoint, name);
    }

    private static EchoResult RunSockets(EchoSettings settings, int serverCore, int clientCore, bool spin)
    {
        using var server = new SocketsEchoServer(settings.Protocol, new IPEndPoint(IPAddress.Loopback, 0), serverCore, spin);
        return SocketsEchoClient.Run(settings, server.LocalEndPoint, clientCore, spin ? ".NET sockets, spin" : ".NET sockets, blocking", spin);
    }

    public static int Server(Args args)
    {
        var protocol = Protocol(args, "udp");
        var bind = Ipv4Endpoint.Parse(args.String("bind", "127.0.0.1:7777"));
        var options = ReadLibOSOptions(args);
        args.RejectUnknown();
        using var libOS = new LibOS(options);
        using var server = new DemiEchoServer(libOS, protocol);
        server.Start(bind);
        Console.WriteLine($"demi echo server ({protocol}, {libOS.Backend.Name} backend) on {server.LocalEndPoint}; Ctrl+C or SIGTERM to stop.");
        using var stop = new ManualResetEventSlim(false);
        // SIGINT and SIGTERM both end the server cleanly, so the libOS detaches XDP programs and frees the UMEM.
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.Set(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Set(); });
        long last = 0;
        while (!stop.Wait(1000))
        {
            long now = server.Echoed;
            Console.Error.Write($"\r{now,12:N0} echoed  {now - last,10:N0}/s   ");
            last = now;
        }
        Console.Error.WriteLine();
        return 0;
    }

    public static int Client(Args args)
    {
        var settings = ReadSettings(args, "udp");
        var server = Ipv4Endpoint.Parse(args.String("server", "127.0.0.1:7777"));
        var options = ReadLibOSOptions(args);
        args.RejectUnknown();
        using var libOS = new LibOS(options);
        var result = new DemiEchoClient(libOS, settings).Run(server, $"demi ({libOS.Backend.Name})");
        Console.WriteLine(EchoResult.Header);
        Console.WriteLine(result.Row);
        return result.Messages > 0 ? 0 : 1;
    }

    private static string Protocol(Args args, string fallback)
    {
        var protocol = args.String("proto", fallback);
        if (protocol is not ("udp" or "tcp"))
            throw new UsageException($"--proto must be udp or tcp, got '{protocol}'");
        return protocol;
    }

    private static EchoSettings ReadSettings(Args args, string defaultProtocol)
    {
        var protocol = args.OptionalString("proto") is null ? defaultProtocol : args.String("proto", defaultProtocol);
        if (protocol is not ("udp" or "tcp" or "both"))
            throw new UsageException($"--proto must be udp or tcp, got '{protocol}'");
        return new EchoSettings
        {
            Protocol = protocol is "both" ? defaultProtocol : protocol,
            MessageSize = args.Int("size", 64, 1, 65_000),
            Count = args.Int("count", 0, 0),
            Duration = args.Duration("duration", TimeSpan.FromSeconds(5)),
            Warmup = args.Duration("warmup", TimeSpan.FromSeconds(1)),
            Concurrency = args.Int("concurrency", 1, 1, 1024),
            Quiet = args.Flag("quiet"),
        };
    }

    private static LibOSOptions ReadLibOSOptions(Args args)
    {
        var cores = args.OptionalString("cores");
        int shards = cores is null ? 1 : CpuSet.Parse(cores).Length;
        return new LibOSOptions
        {
            Cores = cores,
            ShardIdle = IdleStrategy.Parse(args.String("idle", "spin-then-park")),
            WaitIdle = IdleStrategy.SpinThenPark,
            Backend = BackendFactory.Create(args, shards),
        };
    }
}
